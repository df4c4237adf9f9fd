#!/bin/bash
# Runs as root inside the throwaway systemd VM (/work/shared/tools/systemd-vm/run-in-vm.sh), cwd /share, with the
# compiled gateway at /share/gateway. Checks `gateway install` for real:
#   user unit (non-root user with linger, driven through runuser + XDG_RUNTIME_DIR) and system unit (--user-name gw):
#   active and answering `gateway health`; kill -9 of the main PID → systemd restarts it and it answers again;
#   `gateway status --json` (active, pid, rpc ok); `gateway restart` keeps state (config value, generated token);
#   reinstall is idempotent; a config refusal (exit 78) is not restarted; `gateway uninstall` leaves no unit file,
#   no enabled symlink, no process.
# Prints OK/FAIL lines, a timing per phase, and exits non-zero on any failure.
set -u
fail=0
ok()  { echo "OK   $*"; }
bad() { echo "FAIL $*"; fail=1; }
check() { local what=$1; shift; if "$@" >/tmp/check.out 2>&1; then ok "$what"; else bad "$what: $(tail -n 5 /tmp/check.out | tr '\n' ' ')"; fi; }
uptime_s() { cut -d' ' -f1 /proc/uptime; }
T0=$(uptime_s)
phase_t=$T0
phase() { local now; now=$(uptime_s); echo "---- $* (previous phase $(awk -v a="$phase_t" -v b="$now" 'BEGIN{printf "%.1f", b-a}') s)"; phase_t=$now; }
# JSON field reader (no jq or python in the minimal VM): the gateway binary run as plain Bun (BUN_BE_BUN=1; only here,
# never in a service's environment).
jget() {  # jget FILE dotted.key
  BUN_BE_BUN=1 /share/gateway -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))
const r = process.argv[2].split(".").reduce((o, k) => (o == null ? undefined : o[k]), v)
console.log(typeof r === "object" ? JSON.stringify(r) : String(r))' "$1" "$2" 2>/dev/null
}

echo "uptime at start: ${T0}s; PID1=$(cat /proc/1/comm); $(systemctl --version | head -n1)"
echo "is-system-running --wait: $(timeout 90 systemctl is-system-running --wait)"

install -m 0755 /share/gateway /usr/local/bin/gateway
GW=/usr/local/bin/gateway
echo "gateway --version: $($GW --version)"

wait_health() {  # wait_health SECONDS cmd... : retries a health command until it succeeds
  local secs=$1; shift
  local i
  for i in $(seq 1 $((secs * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}

wait_new_pid() {  # wait_new_pid OLDPID systemctl-prefix... : waits for a different, running MainPID
  local old=$1; shift
  local i pid
  for i in $(seq 1 120); do
    pid=$("$@" show -P MainPID gateway.service 2>/dev/null)
    if [ -n "$pid" ] && [ "$pid" != 0 ] && [ "$pid" != "$old" ] && [ "$("$@" is-active gateway.service)" = active ]; then echo "$pid"; return 0; fi
    sleep 0.25
  done
  return 1
}

# ============================================================ user unit
phase "user unit"
useradd -m -s /bin/bash alice
uid=$(id -u alice)
loginctl enable-linger alice
for i in $(seq 1 100); do [ -S /run/user/$uid/systemd/private ] && break; sleep 0.1; done
A() { runuser -u alice -- env HOME=/home/alice USER=alice XDG_RUNTIME_DIR=/run/user/$uid DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/$uid/bus "$@"; }
AU() { A systemctl --user "$@"; }

A $GW install --dry-run --port 18801 > /tmp/u-dry.txt 2>&1 && grep -q "would run: systemctl --user daemon-reload" /tmp/u-dry.txt \
  && [ ! -e /home/alice/.config/systemd/user/gateway.service ] && ok "user: install --dry-run plans and writes nothing" || { bad "user: dry run"; cat /tmp/u-dry.txt; }

t=$(uptime_s)
A $GW install --port 18801 --wait 90000 --json > /tmp/u-install.json 2>/tmp/u-install.err
rc=$?
echo "user install took $(awk -v a="$t" -v b="$(uptime_s)" 'BEGIN{printf "%.1f", b-a}') s (rc=$rc)"
[ $rc = 0 ] && [ "$(jget /tmp/u-install.json ok)" = true ] && ok "user: gateway install (result $(jget /tmp/u-install.json result))" || { bad "user: install rc=$rc"; cat /tmp/u-install.json /tmp/u-install.err; }
[ "$(jget /tmp/u-install.json rpc.ok)" = true ] && ok "user: install saw the RPC probe answer" || bad "user: install rpc $(jget /tmp/u-install.json rpc)"
[ "$(AU is-active gateway.service)" = active ] && ok "user: unit active" || bad "user: unit is $(AU is-active gateway.service)"
[ "$(AU is-enabled gateway.service)" = enabled ] && ok "user: unit enabled" || bad "user: not enabled"
[ "$(stat -c %a /home/alice/.config/gateway/gateway.env)" = 600 ] && ok "user: env file is 0600" || bad "user: env file mode $(stat -c %a /home/alice/.config/gateway/gateway.env)"
[ "$(loginctl show-user alice -P Linger)" = yes ] && ok "user: linger on" || bad "user: linger off"
check "user: gateway health answers" wait_health 30 A env GATEWAY_PORT=18801 $GW health

A $GW status --json > /tmp/u-status.json 2>/tmp/u-status.err
rc=$?
pid=$(jget /tmp/u-status.json pid)
if [ $rc = 0 ] && [ "$(jget /tmp/u-status.json active)" = true ] && [ "$(jget /tmp/u-status.json rpc.ok)" = true ] && [ "$pid" = "$(AU show -P MainPID gateway.service)" ] && [ "$(jget /tmp/u-status.json port)" = 18801 ]; then
  ok "user: status --json active=true pid=$pid port=18801 rpc.ok=true"
else bad "user: status rc=$rc"; cat /tmp/u-status.json /tmp/u-status.err; fi
A $GW status > /tmp/u-status.txt 2>&1; echo "  gateway status (user):"; sed 's/^/    | /' /tmp/u-status.txt

phase "user: kill -9"
kill -9 "$pid"
if newpid=$(wait_new_pid "$pid" A systemctl --user); then ok "user: systemd restarted it after kill -9 (pid $pid -> $newpid, NRestarts=$(AU show -P NRestarts gateway.service))"; else bad "user: not restarted after kill -9 ($(AU is-active gateway.service))"; fi
check "user: answers again after the crash" wait_health 60 A env GATEWAY_PORT=18801 $GW health

phase "user: restart keeps state"
tok_before=$(sha256sum /home/alice/.gateway/gateway.token | cut -d' ' -f1)
check "user: config set logging.level debug (through the running gateway)" A env GATEWAY_PORT=18801 $GW config set logging.level debug
pid=$(AU show -P MainPID gateway.service)
check "user: gateway restart" A $GW restart --wait 90000
pid2=$(AU show -P MainPID gateway.service)
[ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] && ok "user: restart gave a new pid ($pid -> $pid2)" || bad "user: restart pid $pid -> $pid2"
[ "$(A env GATEWAY_PORT=18801 $GW config get logging.level 2>&1)" = debug ] && ok "user: config value survived the restart" || bad "user: config value lost: $(A env GATEWAY_PORT=18801 $GW config get logging.level 2>&1)"
[ "$(sha256sum /home/alice/.gateway/gateway.token | cut -d' ' -f1)" = "$tok_before" ] && ok "user: generated token survived the restart" || bad "user: token changed"
check "user: health after restart" wait_health 30 A env GATEWAY_PORT=18801 $GW health

A $GW install --port 18801 --wait 90000 --json > /tmp/u-install2.json 2>&1
[ "$(jget /tmp/u-install2.json result)" = reinstalled ] && [ "$(AU is-active gateway.service)" = active ] && ok "user: second install is idempotent (reinstalled, active)" || { bad "user: reinstall"; cat /tmp/u-install2.json; }

phase "user: stop/start"
check "user: gateway stop" A $GW stop
[ "$(AU is-active gateway.service)" != active ] && ok "user: stopped ($(AU is-active gateway.service))" || bad "user: still active after stop"
A $GW status > /dev/null 2>&1 && bad "user: status exit 0 while stopped" || ok "user: status exits non-zero while stopped"
check "user: gateway start" A $GW start --wait 90000
check "user: health after start" wait_health 30 A env GATEWAY_PORT=18801 $GW health

phase "user: uninstall"
check "user: gateway uninstall" A $GW uninstall
[ ! -e /home/alice/.config/systemd/user/gateway.service ] && ok "user: no unit file" || bad "user: unit file left"
[ ! -e /home/alice/.config/systemd/user/default.target.wants/gateway.service ] && ok "user: no enabled symlink" || bad "user: enabled symlink left"
[ ! -e /home/alice/.config/gateway/gateway.env ] && ok "user: no env file" || bad "user: env file left"
sleep 0.5
pgrep -u alice -f "gateway run" >/dev/null && bad "user: a gateway process is left: $(pgrep -a -u alice -f 'gateway run')" || ok "user: no gateway process"
[ -e /home/alice/.gateway/gateway.token ] && ok "user: state home kept" || bad "user: state home removed"
A $GW uninstall > /tmp/u-un2.txt 2>&1 && grep -q "nothing to do" /tmp/u-un2.txt && ok "user: second uninstall is a no-op: $(cat /tmp/u-un2.txt)" || { bad "user: second uninstall"; cat /tmp/u-un2.txt; }

# ============================================================ system unit
phase "system unit"
TOKEN=0123456789abcdef0123456789abcdef
t=$(uptime_s)
$GW install --system --user-name gw --port 18802 --token $TOKEN --wait 90000 --json > /tmp/s-install.json 2>/tmp/s-install.err
rc=$?
echo "system install took $(awk -v a="$t" -v b="$(uptime_s)" 'BEGIN{printf "%.1f", b-a}') s (rc=$rc)"
[ $rc = 0 ] && [ "$(jget /tmp/s-install.json ok)" = true ] && ok "system: gateway install --system --user-name gw" || { bad "system: install rc=$rc"; cat /tmp/s-install.json /tmp/s-install.err; journalctl -u gateway.service --no-pager | tail -n 20; }
id gw >/dev/null 2>&1 && ok "system: account gw exists ($(getent passwd gw))" || bad "system: no account gw"
[ "$(systemctl is-active gateway.service)" = active ] && ok "system: unit active" || bad "system: unit is $(systemctl is-active gateway.service)"
[ "$(systemctl is-enabled gateway.service)" = enabled ] && ok "system: unit enabled" || bad "system: not enabled"
[ "$(ps -o user= -p "$(systemctl show -P MainPID gateway.service)")" = gw ] && ok "system: runs as gw" || bad "system: runs as $(ps -o user= -p "$(systemctl show -P MainPID gateway.service)")"
[ "$(stat -c '%a %U' /etc/gateway/gateway.env)" = "600 root" ] && ok "system: env file 0600 root" || bad "system: env file $(stat -c '%a %U' /etc/gateway/gateway.env)"
grep -q "$TOKEN" /etc/systemd/system/gateway.service && bad "system: token in the unit" || ok "system: no token in the unit"
systemctl show gateway.service -p Environment | grep -q "$TOKEN" && bad "system: token visible in systemctl show" || ok "system: token not in systemctl show"
grep -q "$TOKEN" /tmp/s-install.json && bad "system: token printed by install --json" || ok "system: token not printed by install --json"
[ "$(stat -c '%a %U' /var/lib/gateway)" = "700 gw" ] && ok "system: StateDirectory /var/lib/gateway 0700 gw" || bad "system: state dir $(stat -c '%a %U' /var/lib/gateway)"
check "system: gateway health answers" wait_health 30 env GATEWAY_PORT=18802 GATEWAY_TOKEN=$TOKEN $GW health --home /var/lib/gateway
echo "  $(systemd-analyze security gateway.service 2>/dev/null | tail -n1)"

$GW status --json > /tmp/s-status.json 2>/tmp/s-status.err
rc=$?
pid=$(jget /tmp/s-status.json pid)
if [ $rc = 0 ] && [ "$(jget /tmp/s-status.json scope)" = system ] && [ "$(jget /tmp/s-status.json active)" = true ] && [ "$(jget /tmp/s-status.json rpc.ok)" = true ] && [ "$pid" = "$(systemctl show -P MainPID gateway.service)" ]; then
  ok "system: status --json (auto-detected system scope) active=true pid=$pid rpc.ok=true"
else bad "system: status rc=$rc"; cat /tmp/s-status.json /tmp/s-status.err; fi
$GW status > /tmp/s-status.txt 2>&1; echo "  gateway status (system):"; sed 's/^/    | /' /tmp/s-status.txt
grep -q "last log lines (journalctl -u gateway.service)" /tmp/s-status.txt && ok "system: status shows journal lines" || bad "system: no journal lines in status"

phase "system: kill -9"
kill -9 "$pid"
if newpid=$(wait_new_pid "$pid" systemctl); then ok "system: restarted after kill -9 (pid $pid -> $newpid, NRestarts=$(systemctl show -P NRestarts gateway.service))"; else bad "system: not restarted after kill -9 ($(systemctl is-active gateway.service))"; fi
check "system: answers again after the crash" wait_health 60 env GATEWAY_PORT=18802 GATEWAY_TOKEN=$TOKEN $GW health --home /var/lib/gateway

phase "system: restart keeps state"
check "system: config set logging.level debug (through the running gateway)" env GATEWAY_PORT=18802 GATEWAY_TOKEN=$TOKEN $GW config set logging.level debug --home /var/lib/gateway
pid=$(systemctl show -P MainPID gateway.service)
check "system: gateway restart" $GW restart --wait 90000
pid2=$(systemctl show -P MainPID gateway.service)
[ "$pid2" != "$pid" ] && [ "$pid2" != 0 ] && ok "system: restart gave a new pid ($pid -> $pid2)" || bad "system: restart pid $pid -> $pid2"
[ "$(env GATEWAY_PORT=18802 GATEWAY_TOKEN=$TOKEN $GW config get logging.level --home /var/lib/gateway 2>&1)" = debug ] && ok "system: config value survived the restart" || bad "system: config value lost"
[ "$(stat -c %U /var/lib/gateway/gateway.json)" = gw ] && ok "system: config written by the service (owner gw)" || bad "system: config owner $(stat -c %U /var/lib/gateway/gateway.json)"

$GW install --system --user-name gw --port 18802 --token $TOKEN --wait 90000 --json > /tmp/s-install2.json 2>&1
[ "$(jget /tmp/s-install2.json result)" = reinstalled ] && [ "$(systemctl is-active gateway.service)" = active ] && ok "system: second install is idempotent (reinstalled, active)" || { bad "system: reinstall"; cat /tmp/s-install2.json; }

phase "system: config refusal (exit 78)"
cp /var/lib/gateway/gateway.json /tmp/good.json
echo '{ "gateway": { "port": "not a port" } }' > /var/lib/gateway/gateway.json
$GW restart --wait 30000 > /tmp/s-78.txt 2>&1
rc=$?
sleep 4  # longer than RestartSec: a restart loop would show here
if [ $rc != 0 ] && grep -q "exit 78" /tmp/s-78.txt && [ "$(systemctl is-active gateway.service)" = failed ]; then
  ok "system: restart with an invalid config fails with exit 78 and is not retried (NRestarts=$(systemctl show -P NRestarts gateway.service)): $(grep 'exit 78' /tmp/s-78.txt)"
else bad "system: exit 78 handling rc=$rc state=$(systemctl is-active gateway.service)"; cat /tmp/s-78.txt; fi
cp /tmp/good.json /var/lib/gateway/gateway.json
check "system: gateway start after fixing the config" $GW start --wait 90000

phase "system: uninstall"
check "system: gateway uninstall" $GW uninstall
[ ! -e /etc/systemd/system/gateway.service ] && ok "system: no unit file" || bad "system: unit file left"
[ ! -e /etc/systemd/system/multi-user.target.wants/gateway.service ] && ok "system: no enabled symlink" || bad "system: enabled symlink left"
[ ! -e /etc/gateway/gateway.env ] && ok "system: no env file" || bad "system: env file left"
sleep 0.5
pgrep -u gw >/dev/null && bad "system: a process of gw is left: $(pgrep -a -u gw)" || ok "system: no gateway process"
[ "$(systemctl show -P LoadState gateway.service)" = not-found ] && ok "system: systemd no longer knows the unit" || bad "system: LoadState $(systemctl show -P LoadState gateway.service)"
$GW uninstall --system > /tmp/s-un2.txt 2>&1 && grep -q "nothing to do" /tmp/s-un2.txt && ok "system: second uninstall is a no-op" || { bad "system: second uninstall"; cat /tmp/s-un2.txt; }

# ============================================================ OS image staging
phase "--root staging"
$GW install --root /tmp/img --system > /tmp/root.txt 2>&1 && [ -x /tmp/img/usr/bin/gateway ] && [ -f /tmp/img/usr/lib/systemd/system-preset/80-gateway.preset ] \
  && ok "--root /tmp/img staged $(find /tmp/img -type f | wc -l) files" || { bad "--root"; cat /tmp/root.txt; }
# The same staging into this VM's own root, then what a first boot does: sysusers, preset, start.
$GW install --root / --system --name gwimg --port 18803 > /tmp/root2.txt 2>&1 || { bad "--root /"; cat /tmp/root2.txt; }
systemd-sysusers >/dev/null 2>&1
systemctl daemon-reload
systemctl preset gwimg.service >/dev/null 2>&1
[ "$(systemctl is-enabled gwimg.service)" = enabled ] && ok "image: the preset enables gwimg.service" || bad "image: preset did not enable ($(systemctl is-enabled gwimg.service))"
getent passwd gateway >/dev/null && ok "image: sysusers.d created the account 'gateway'" || bad "image: no account 'gateway'"
systemctl start gwimg.service
# No flags: port 18803 comes from the staged /etc/gateway/gateway.json (the system config layer).
check "image: staged service answers gateway health (port from /etc/gateway/gateway.json)" wait_health 60 $GW health --home /var/lib/gwimg
$GW status --name gwimg --json > /tmp/i-status.json 2>&1
[ "$(jget /tmp/i-status.json rpc.ok)" = true ] && [ "$(jget /tmp/i-status.json path)" = /usr/lib/systemd/system/gwimg.service ] && ok "image: status finds the vendor unit and probes it" || { bad "image: status"; cat /tmp/i-status.json; }
$GW uninstall --name gwimg > /tmp/i-un.txt 2>&1 && ! systemctl is-active --quiet gwimg.service && ! pgrep -u gateway >/dev/null \
  && ok "image: uninstall stops and disables it and says the vendor unit stays: $(grep -o 'belongs to the OS image.*' /tmp/i-un.txt)" || { bad "image: uninstall"; cat /tmp/i-un.txt; }

phase "done"
echo "elapsed in VM: $(awk -v a="$T0" -v b="$(uptime_s)" 'BEGIN{printf "%.1f", b-a}') s"
[ $fail = 0 ] && echo "ALL OK" || echo "SOME CHECKS FAILED"
exit $fail
