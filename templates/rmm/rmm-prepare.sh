# supafleet: make Tactical RMM's server ready for its installer, which stays a
# manual step (it asks for the names and a DNS-01 TXT record, and wants a fresh
# host). Idempotent: runs on every change of the pinned release.
#   RELEASE                          Tactical RMM's pinned release tag
#   RMM_HOST, API_HOST, MESH_HOST    its three hostnames
#   ALERT_WEBHOOK_URL                where its alerts go

[ "$(id -u)" -eq 0 ] || die "run as root"
need curl useradd install
[ "$(uname -m)" = x86_64 ] || die "Tactical RMM needs x86_64, this is $(uname -m)"

# The installer refuses root: it runs as a sudo user of its own.
command -v sudo >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends sudo
id tactical >/dev/null 2>&1 || useradd --create-home --shell /bin/bash --groups sudo tactical
install -m 0440 /dev/stdin /etc/sudoers.d/90-tactical <<<'tactical ALL=(ALL) NOPASSWD:ALL'

# The installer of the pinned release, fetched once per release.
script=/home/tactical/install-${RELEASE}.sh
if [ ! -s "$script" ]; then
  curl -fsSL --retry 3 "https://raw.githubusercontent.com/amidaware/tacticalrmm/${RELEASE}/install.sh" -o "$script.part" \
    || die "cannot fetch install.sh of Tactical RMM ${RELEASE} (is the tag right?)"
  head -n1 "$script.part" | grep -q '^#!' || die "install.sh of ${RELEASE} does not look like a script"
  install -o tactical -g tactical -m 0755 "$script.part" "$script"
  rm -f "$script.part"
fi

install -d -m 0755 /etc/supafleet
cat > /etc/supafleet/rmm.json <<JSON
{"release": "${RELEASE}", "hostnames": {"rmm": "${RMM_HOST}", "api": "${API_HOST}", "mesh": "${MESH_HOST}"}, "alertWebhook": "${ALERT_WEBHOOK_URL}"}
JSON

if [ -d /rmm ]; then
  echo "rmm-prepare: Tactical RMM is installed; to move to ${RELEASE}, follow the upgrade runbook in docs/operations.md"
else
  echo "rmm-prepare: ready; as tactical, run ${script} (names: ${RMM_HOST}, ${API_HOST}, ${MESH_HOST})"
fi
