# supafleet: run cloudflared on the master with the tunnel token read from stdin.
# Re-run only when the token or the pinned image changes; that is the only restart.
#   IMAGE   cloudflared's pinned image

need docker
token=$(cat)
[ -n "$token" ] || die "no tunnel token on stdin"

install -d -m 0700 /etc/supafleet
umask 077
printf 'TUNNEL_TOKEN=%s\n' "$token" > /etc/supafleet/cloudflared.env

# The unit's own line continuations are doubled: this here-document expands $IMAGE.
cat > /etc/systemd/system/supafleet-cloudflared.service <<UNIT
[Unit]
Description=supafleet: Cloudflare Tunnel connector
After=docker.service network-online.target
Requires=docker.service

[Service]
Restart=always
RestartSec=5
ExecStartPre=-/usr/bin/docker rm -f supafleet-cloudflared
ExecStart=/usr/bin/docker run --rm --name supafleet-cloudflared --network host \\
  --env-file /etc/supafleet/cloudflared.env $IMAGE \\
  tunnel --no-autoupdate --metrics 127.0.0.1:20241 run
ExecStop=/usr/bin/docker stop supafleet-cloudflared

[Install]
WantedBy=multi-user.target
UNIT

docker pull "$IMAGE" >/dev/null
systemctl daemon-reload
systemctl enable supafleet-cloudflared.service
systemctl restart supafleet-cloudflared.service
echo "cloudflared-install: running $IMAGE"
