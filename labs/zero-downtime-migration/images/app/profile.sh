# Shown when the learner's shell starts.
if [ "$(id -un)" = learner ] && [ -t 1 ]; then
  cat <<'MSG'
The accounts service's phases are in ~/app/phases (phase 0 is production). Handy commands:
  curl -s $APP_URL/customers/42            call the service (jq is installed)
  psql                                     SQL prompt on the accounts database
  make rehearse                            reset, then roll out every phase under live traffic
  deploy status | reset | N | all | logs   drive the deploy tool yourself
  traffic                                  steady reads and writes, errors shown (Ctrl-C stops)
MSG
fi
