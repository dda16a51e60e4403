# supafleet: a node is ready once its boot data has run: the sshd jail is really
# active (not only fail2ban running), and WireGuard is up.
#   WG_SHOW   what `wg show wg0` must answer: listen-port on the hub, latest-handshakes on a spoke

# Waits for boot data; whether it all went well is for the checks below to say.
cloud-init status --wait >/dev/null || true
fail2ban-client status sshd >/dev/null 2>&1 || die "fail2ban has no active sshd jail"
wg show wg0 "$WG_SHOW"
