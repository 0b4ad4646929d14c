# Shown when the learner's shell starts.
alias redis-cli='redis-cli -h redis'
if [ "$(id -un)" = learner ] && [ -t 1 ]; then
  cat <<'MSG'
The catalogue's code is in ~/app (this folder). Handy commands:
  curl -s $APP_URL/products/42 | jq            read a product page
  curl -s -X PUT -d '{"price_cents": 1999}' $APP_URL/products/42/price | jq
                                               change its price
  redis-cli                                    Redis prompt (try MONITOR, GET product:42, TTL product:42)
  psql                                         SQL prompt on the shop's database
  stampede 42                                  50 concurrent reads of a cold product, and the queries they cost
MSG
fi
