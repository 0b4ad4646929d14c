# Shown when the learner's shell starts.
if [ "$(id -un)" = learner ] && [ -t 1 ]; then
  cat <<'MSG'
The quotes service's code is in ~/app (this folder). Handy commands:
  curl -s "$APP_URL/quotes/SKU-00042?currency=EUR" | jq    one quote
  backlab-load -rate 150 -duration 10s "$APP_URL/quotes/SKU-00042?currency=EUR"
                                        load test: p50/p95/p99, throughput, errors
  make build                            compile (Check restarts the app from your code)
  psql                                  SQL prompt on the store's database
MSG
fi
