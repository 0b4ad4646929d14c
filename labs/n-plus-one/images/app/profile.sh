# Shown when the learner's shell starts.
if [ "$(id -un)" = learner ] && [ -t 1 ]; then
  cat <<'MSG'
The shop's code is in ~/app (this folder). Handy commands:
  curl -s "$APP_URL/orders?limit=5" | jq    call the app (jq is installed)
  psql                                     SQL prompt on the shop's database
  make run                                 your copy of the app on localhost:8081
MSG
fi
