# supafleet: keep which commit of supafleet last ran here (the release file on
# stdin, src/infraRelease.ts) in /etc/supafleet/release. Re-run whenever it changes.

install -d -m 0755 /etc/supafleet
cat > /etc/supafleet/release.new
chmod 0644 /etc/supafleet/release.new
mv /etc/supafleet/release.new /etc/supafleet/release
