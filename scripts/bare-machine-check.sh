#!/usr/bin/env bash
# Proof of the README's two commands on a bare machine: clones this repository's HEAD into a
# fresh temp dir (with ../shared beside it, as CI has it) and runs, with a PATH that holds only
# Node 20 + npm + git + Debian's essential tools (coreutils, bash, sed, grep, tar, dpkg…; no
# chromium, no b3sum) and an otherwise empty environment:
#
#   npm install && npm start   until the banner prints the demo URL, the URL and
#                              /fulmen-network.json answer; then SIGINT to the process group
#                              (what Ctrl-C does) and the exit code must be 0
#   npm install && npm test    the whole suite (~15 min); its pretest installs Chromium as root
#
# Usage: scripts/bare-machine-check.sh [--test full|smoke|none] [--no-start] [--keep]
#   --test smoke   instead of npm test: its pretest, the typecheck, the CLI and system-deps tests
#   --keep         keep the temp dir (logs in it are printed on failure either way)
#
# Run it as root on a machine without Chromium and b3sum to prove the absent case (the pretest
# installs Debian's chromium); on a machine that has them it still checks that nothing reaches
# them through PATH and says that the absent case was not shown. Needs Node 20 as `node` (or
# NODE=/path/to/node20) and npm on the caller's PATH; exits 0 only if every step passed.
set -euo pipefail

test_mode=full
start=1
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --test) test_mode="${2:?--test wants full, smoke or none}"; shift 2 ;;
    --test=*) test_mode="${1#--test=}"; shift ;;
    --no-start) start=0; shift ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--test full|smoke|none] [--no-start] [--keep]" >&2; exit 2 ;;
  esac
done
case "$test_mode" in full | smoke | none) ;; *) echo "--test wants full, smoke or none" >&2; exit 2 ;; esac

say() { printf 'bare-machine: %s\n' "$*"; }
repo="$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
node20="${NODE:-$(command -v node)}"
npm_cli="$(command -v npm)"
[ "$("$node20" -p 'process.versions.node.split(".")[0]')" = 20 ] ||
  say "warning: $node20 is Node $("$node20" --version), not 20"

work="$(mktemp -d "${TMPDIR:-/tmp}/fulmen-bare.XXXXXX")"
start_pgid=''
cleanup() {
  if [ -n "$start_pgid" ] && kill -0 -- "-$start_pgid" 2>/dev/null; then
    kill -KILL -- "-$start_pgid" 2>/dev/null || true
  fi
  if [ "$keep" = 1 ]; then say "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- The clone, as CI has it: ../shared beside the checkout.
sha="$(git -C "$repo" rev-parse HEAD)"
git clone --quiet --no-hardlinks "$repo" "$work/main"
git -C "$work/main" checkout --quiet --detach "$sha"
if [ -d "$repo/../shared" ]; then ln -s "$(realpath "$repo/../shared")" "$work/shared"; fi

# --- The bare PATH: Debian's essential packages' programs, git, Node 20 and npm; nothing else.
bin="$work/bin"
mkdir -p "$bin"
mapfile -t essential < <(dpkg-query -Wf '${Package} ${Essential}\n' | awk '$2 == "yes" { print $1 }')
dpkg -L "${essential[@]}" git 2>/dev/null | grep -E '^/(usr/)?s?bin/[^/]+$' | sort -u |
  while read -r program; do
    if [ -x "$program" ] && [ ! -d "$program" ]; then ln -sf "$program" "$bin/"; fi
  done
ln -sf "$node20" "$bin/node"
ln -sf "$npm_cli" "$bin/npm"
ln -sf "$(command -v npx)" "$bin/npx"
for absent in chromium chromium-browser google-chrome b3sum; do
  if [ -e "$bin/$absent" ]; then say "FAIL: $absent is in the bare PATH"; exit 1; fi
done
bare=(env -i HOME="$HOME" USER="${USER:-root}" LANG=C.UTF-8 TERM=dumb PATH="$bin")

chromium_state=absent
[ -e /usr/bin/chromium ] && chromium_state="present at /usr/bin/chromium"
b3sum_state=absent
command -v b3sum >/dev/null 2>&1 && b3sum_state="present at $(command -v b3sum)"
say "clone of $sha in $work/main"
say "PATH: $(ls "$bin" | wc -l) programs in $bin; node $("${bare[@]}" node --version), npm $("${bare[@]}" npm --version); uid $(id -u)"
say "this machine: chromium $chromium_state; b3sum $b3sum_state"

failed=0
seconds() { echo $(($(date +%s) - $1)); }
show_log() { say "last lines of $1:"; tail -n 40 "$1" | sed 's/^/    /'; }

# --- npm install && npm start
if [ "$start" = 1 ]; then
  log="$work/start.log"
  t0=$(date +%s)
  # setsid: its own process group, so the SIGINT below reaches every process as a Ctrl-C does.
  # A simple command in the background: $! is setsid's pid, hence the group's id.
  "${bare[@]}" setsid bash -c 'cd "$0" && npm install --no-audit --no-fund && npm start' \
    "$work/main" >"$log" 2>&1 &
  start_pgid=$!
  url=''
  while [ "$(seconds "$t0")" -lt 600 ] && kill -0 "$start_pgid" 2>/dev/null; do
    url="$(sed -nE 's/^ *Fulmen demo +(http[^ ]+).*/\1/p' "$log" | head -n 1)"
    [ -n "$url" ] && break
    sleep 1
  done
  if [ -z "$url" ]; then
    say "FAIL npm install && npm start: no demo URL after $(seconds "$t0") s"
    show_log "$log"
    failed=1
  else
    say "npm install && npm start: banner after $(seconds "$t0") s: $url"
    # Node 20's fetch: the bare machine has no curl.
    answers="$("${bare[@]}" node --input-type=module -e '
      const [url] = process.argv.slice(1)
      const page = await fetch(url)
      const net = await fetch(new URL("/fulmen-network.json", url))
      const json = net.ok ? await net.json() : {}
      console.log(`${page.status} ${net.status} ${json.nodes?.length ?? 0}`)
    ' "$url" 2>&1 || true)"
    read -r page_status network_status nodes <<<"$answers"
    if [ "$page_status" = 200 ] && [ "$network_status" = 200 ] && [ "${nodes:-0}" -ge 1 ]; then
      say "  $url answered 200; /fulmen-network.json answered 200 with $nodes nodes"
    else
      say "FAIL: the demo did not answer as it should: $answers"
      failed=1
    fi
    t1=$(date +%s)
    kill -INT -- "-$start_pgid"
    # Stopped means every process of the group gone (the nodes, the liar, Vite), not only npm.
    while kill -0 -- "-$start_pgid" 2>/dev/null && [ "$(seconds "$t1")" -lt 60 ]; do sleep 0.5; done
    code=0
    wait "$start_pgid" || code=$?
    if kill -0 -- "-$start_pgid" 2>/dev/null; then
      say "FAIL: npm start's processes still running $(seconds "$t1") s after SIGINT:"
      ps -o pid=,args= -g "$start_pgid" 2>/dev/null | head -n 5 | sed 's/^/    /'
      failed=1
    # npm itself answers a Ctrl-C with 130 whatever its script does; start.ts's own exit is
    # its last line: "network stopped" once everything closed, nothing after it.
    elif { [ "$code" = 0 ] || [ "$code" = 130 ]; } &&
      [ "$(grep -v '^$' "$log" | tail -n 1)" = 'fulmen: network stopped' ]; then
      say "  SIGINT: every process gone after $(seconds "$t1") s, the network stopped cleanly (npm exit $code)"
    else
      say "FAIL: npm start after SIGINT: npm exit $code, last line: $(grep -v '^$' "$log" | tail -n 1)"
      show_log "$log"
      failed=1
    fi
    start_pgid=''
  fi
fi

# --- npm install && npm test
if [ "$test_mode" != none ]; then
  log="$work/test.log"
  t0=$(date +%s)
  if [ "$test_mode" = full ]; then
    what='npm install && npm test'
    commands='npm install --no-audit --no-fund && npm test'
  else
    what='npm install && npm test, smoke (pretest, typecheck, the CLI and system-deps tests)'
    commands='set -e
      npm install --no-audit --no-fund
      if ! node -e "process.exit(require(\"./package.json\").scripts.pretest ? 0 : 1)"; then
        echo "package.json has no pretest: npm test would not install Chromium"
        exit 1
      fi
      npm run pretest
      npm run typecheck
      npx vitest run --project node src/node/cli/cli.node.test.ts
      npx vitest run --project e2e e2e/system-deps.e2e.test.ts'
  fi
  if (cd "$work/main" && "${bare[@]}" bash -c "$commands" >"$log" 2>&1); then
    say "$what: passed in $(seconds "$t0") s"
    grep -E '^ *(Test Files|Tests) ' "$log" | sed 's/\x1b\[[0-9;]*m//g; s/^ */  /' || true
  else
    say "FAIL $what (after $(seconds "$t0") s)"
    show_log "$log"
    failed=1
  fi
fi

if [ "$failed" != 0 ]; then
  say FAIL
  exit 1
fi
if [ "$chromium_state" = absent ] && [ "$b3sum_state" = absent ]; then
  say "PASS on a machine without chromium and b3sum"
else
  say "PASS; this machine has chromium ($chromium_state) or b3sum ($b3sum_state), so the absent case is not shown by this run"
fi
