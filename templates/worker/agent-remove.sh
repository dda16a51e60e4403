# supafleet: take the console's agent off a worker (console.enabled turned off, or the worker leaves):
# stop it, and remove its key, so nothing on the mesh answers on its port any more.

UNIT=supafleet-agent.service
if command -v systemctl >/dev/null; then
  systemctl disable --now "$UNIT" >/dev/null 2>&1 || true
  rm -f "/etc/systemd/system/$UNIT"
  systemctl daemon-reload
fi
rm -rf /etc/supafleet/agent /usr/local/lib/supafleet/worker-agent.py
echo "agent-remove: stopped and removed"
