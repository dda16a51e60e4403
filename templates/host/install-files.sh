# supafleet: install files from a JSON payload on stdin:
#   {"files": {"/absolute/path": {"content": "...", "mode": "0755"}}, "enable": ["x.timer"], "restart": ["y.service"]}
# Each file is written atomically; systemd reloads if a unit changed, then
# starts and enables the units listed under "enable", and restarts those under
# "restart" (a daemon that reads its files only when it starts).

need jq
payload=$(cat)
[ -n "$payload" ] || die "empty payload on stdin"

units=0
while IFS= read -r path; do
  case "$path" in
    /*) ;;
    *) die "refusing relative path '$path'" ;;
  esac
  case "$path" in *..*) die "refusing path '$path'" ;; esac
  mode=$(jq -r --arg p "$path" '.files[$p].mode' <<<"$payload")
  install -d -m 0755 "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX")
  jq -j --arg p "$path" '.files[$p].content' <<<"$payload" > "$tmp"
  chmod "$mode" "$tmp"
  mv "$tmp" "$path"
  case "$path" in /etc/systemd/*) units=1 ;; esac
done < <(jq -r '.files | keys[]' <<<"$payload")
if [ "$units" = 1 ] && command -v systemctl >/dev/null; then systemctl daemon-reload; fi
while IFS= read -r unit; do
  command -v systemctl >/dev/null || die "cannot enable $unit: no systemctl"
  systemctl enable --now "$unit"
done < <(jq -r '.enable // [] | .[]' <<<"$payload")
while IFS= read -r unit; do
  command -v systemctl >/dev/null || die "cannot restart $unit: no systemctl"
  systemctl restart "$unit"
done < <(jq -r '.restart // [] | .[]' <<<"$payload")
echo "install-files: $(jq '.files | length' <<<"$payload") files"
