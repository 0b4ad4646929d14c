# A wrong fix a learner may try: a cap so low that it also cuts honest pages.
# apply.sh runs with bash -euo pipefail in the workspace's workdir, as the
# workspace user.
sed -i 's/^MAX_LIMIT=.*/MAX_LIMIT=10/' app.conf
grep -q '^MAX_LIMIT=10$' app.conf
