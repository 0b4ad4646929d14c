# Shown when the learner's shell starts.
if [ "$(id -un)" = learner ] && [ -t 1 ]; then
  cat <<'MSG'
The shop's code is in ~/app (this folder). Handy commands:
  psql                                   SQL prompt on the shop's database
  curl -s $APP_URL/customers/42/orders   call the app (jq is installed)
  make migrate                           apply new files of migrations/
MSG
fi
