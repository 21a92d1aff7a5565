#!/usr/bin/env bash
# Deploy from a CI job through salt-api: log in, start `scenario.run` as a runner job, poll
# `scenario.status` until the run is done, print the JUnit report's path, exit with the run's
# exit code. Needs bash, curl and python3 (for JSON); no jq.
set -euo pipefail

PROG=${0##*/}

usage() {
    cat <<EOF
Usage: $PROG [options] FEATURE

Start \`salt-run scenario.run FEATURE\` on the Salt master through salt-api (rest_cherrypy,
client runner_async), follow it with \`scenario.status\` and exit with the run's exit code:
0 passed, 1 a step failed and the run halted, 2 invalid (nothing ran), 3 discovery
shortfall, 4 locked, 5 finished within the failure budget, 6 interrupted.
This script's own failures: 64 bad usage, 69 salt-api unreachable or answering nonsense,
77 login or permission refused, 75 the deadline passed (the run goes on: see the message).

Options (environment variable in brackets):
  --url URL           salt-api base URL, e.g. https://salt.example:8000     [SALTAPI_URL]
  --user USER         eauth user                                            [SALTAPI_USER]
  --eauth NAME        eauth backend: file, pam, ... (default file)          [SALTAPI_EAUTH]
                      The password is read from SALTAPI_PASSWORD only (never an argument).
  --cacert FILE       CA bundle for salt-api's certificate                  [SALTAPI_CACERT]
  --batch SIZES       rolling batches, e.g. 1,10%,50% (scenario.run batch=)
  --report-dir DIR    absolute directory on the master for the reports (scenario.run report_dir=)
  --junit-out FILE    write the run's JUnit report here, fetched through salt-api
                      (scenario.report_file; needs @runner scenario.report_file); copied
                      from the path on the master only when that fails and it is readable
  --deadline SECONDS  give up waiting after this long (default 3600)         [SCENARIO_DEADLINE]
  --poll SECONDS      between two scenario.status calls (default 5)
  --request-timeout SECONDS   each HTTP request (default 30)
  -h, --help          this text

Example:
  SALTAPI_URL=https://salt.example:8000 SALTAPI_USER=ci SALTAPI_PASSWORD=... \\
    $PROG --report-dir /srv/ci/reports --junit-out junit.xml update_website
EOF
}

die() {
    local code=$1
    shift
    echo "$PROG: $*" >&2
    exit "$code"
}

URL=${SALTAPI_URL:-}
USER_NAME=${SALTAPI_USER:-}
EAUTH=${SALTAPI_EAUTH:-file}
CACERT=${SALTAPI_CACERT:-}
BATCH=""
REPORT_DIR=""
JUNIT_OUT=""
DEADLINE=${SCENARIO_DEADLINE:-3600}
POLL=5
REQUEST_TIMEOUT=30
FEATURE=""

need_value() {
    [[ $# -ge 2 && -n $2 ]] || die 64 "$1 needs a value (see --help)"
}

while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        --url) need_value "$@"; URL=$2; shift 2 ;;
        --user) need_value "$@"; USER_NAME=$2; shift 2 ;;
        --eauth) need_value "$@"; EAUTH=$2; shift 2 ;;
        --cacert) need_value "$@"; CACERT=$2; shift 2 ;;
        --batch) need_value "$@"; BATCH=$2; shift 2 ;;
        --report-dir) need_value "$@"; REPORT_DIR=$2; shift 2 ;;
        --junit-out) need_value "$@"; JUNIT_OUT=$2; shift 2 ;;
        --deadline) need_value "$@"; DEADLINE=$2; shift 2 ;;
        --poll) need_value "$@"; POLL=$2; shift 2 ;;
        --request-timeout) need_value "$@"; REQUEST_TIMEOUT=$2; shift 2 ;;
        --) shift; break ;;
        -*) die 64 "unknown option $1 (see --help)" ;;
        *) [[ -z $FEATURE ]] || die 64 "one feature at a time ($FEATURE, $1)"; FEATURE=$1; shift ;;
    esac
done
if [[ $# -gt 0 ]]; then
    [[ -z $FEATURE && $# -eq 1 ]] || die 64 "one feature at a time"
    FEATURE=$1
fi

[[ -n $FEATURE ]] || die 64 "which feature? (see --help)"
[[ $FEATURE =~ ^[A-Za-z0-9_][A-Za-z0-9_./-]*$ ]] || die 64 "feature name '$FEATURE' is not a scenario name"
[[ $URL =~ ^https?://[^[:space:]]+$ ]] || die 64 "--url (or SALTAPI_URL) must be an http(s):// URL"
[[ -n $USER_NAME ]] || die 64 "--user (or SALTAPI_USER) is not set"
[[ -n ${SALTAPI_PASSWORD:-} ]] || die 64 "SALTAPI_PASSWORD is not set"
for number in "$DEADLINE" "$REQUEST_TIMEOUT"; do
    [[ $number =~ ^[0-9]+$ && $number -ge 1 ]] || die 64 "'$number' is not a whole number of seconds"
done
[[ $POLL =~ ^[0-9]+(\.[0-9]+)?$ && $POLL != 0 ]] || die 64 "--poll '$POLL' is not a number of seconds"
[[ -z $REPORT_DIR || $REPORT_DIR == /* ]] || die 64 "--report-dir must be an absolute directory on the master"
URL=${URL%/}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
chmod 700 "$WORK"

# One POST to salt-api with the JSON body on stdin; the answer in $WORK/answer, the HTTP code
# on stdout. The token travels in a header file, never on a command line (ps shows those).
post() {
    local path=$1
    local -a args=(--silent --show-error --max-time "$REQUEST_TIMEOUT" --connect-timeout 10
        -X POST -H "Content-Type: application/json" -H "Accept: application/json"
        --data-binary @- -o "$WORK/answer" -w '%{http_code}')
    [[ -n $CACERT ]] && args+=(--cacert "$CACERT")
    [[ -f $WORK/token-header ]] && args+=(-H "@$WORK/token-header")
    curl "${args[@]}" "$URL$path"
}

# python3 reads JSON: `json_field FILE return.0.token` prints that field (a string as it is,
# anything else as JSON); exit 1 when it is missing or null.
json_field() {
    python3 - "$1" "$2" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        value = json.load(f)
    for key in sys.argv[2].split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
except (OSError, ValueError, LookupError, TypeError):
    sys.exit(1)
if value is None:
    sys.exit(1)
print(value if isinstance(value, str) else json.dumps(value))
PY
}

# --- login -------------------------------------------------------------------------------------
code=$(python3 -c '
import json, os, sys
print(json.dumps({"username": sys.argv[1], "password": os.environ["SALTAPI_PASSWORD"], "eauth": sys.argv[2]}))
' "$USER_NAME" "$EAUTH" | post /login) || die 69 "salt-api at ${URL%%://*}://… is unreachable"
case $code in
    200) ;;
    401 | 403) die 77 "login refused for user $USER_NAME (eauth $EAUTH): HTTP $code" ;;
    *) die 69 "login: salt-api answered HTTP $code" ;;
esac
TOKEN=$(json_field "$WORK/answer" return.0.token) || die 69 "login: no token in salt-api's answer"
(umask 077 && printf 'X-Auth-Token: %s\n' "$TOKEN" >"$WORK/token-header")
unset TOKEN

# --- start the run -----------------------------------------------------------------------------
code=$(python3 -c '
import json, sys
kwarg = {"name": sys.argv[1]}
if sys.argv[2]:
    kwarg["batch"] = sys.argv[2]
if sys.argv[3]:
    kwarg["report_dir"] = sys.argv[3]
print(json.dumps([{"client": "runner_async", "fun": "scenario.run", "kwarg": kwarg}]))
' "$FEATURE" "$BATCH" "$REPORT_DIR" | post /) || die 69 "salt-api did not answer the start of the run"
case $code in
    200) ;;
    401 | 403) die 77 "not allowed to run scenario.run (HTTP $code): external_auth needs @runner scenario.run" ;;
    *) die 69 "start: salt-api answered HTTP $code" ;;
esac
JID=$(json_field "$WORK/answer" return.0.jid) || die 77 "start: no job id in salt-api's answer ($(head -c 300 "$WORK/answer"))"
[[ $JID =~ ^[0-9A-Za-z_.-]+$ ]] || die 69 "start: a strange job id"
echo "$PROG: started scenario.run $FEATURE (jid $JID)"

# --- follow it ---------------------------------------------------------------------------------
# One python3 per answer: `read_status FILE` prints state, run id, exit code, JUnit path and the
# progress line, one per line (empty when absent); exit 1 when the answer is not a status.
read_status() {
    python3 - "$1" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        s = json.load(f)["return"][0]
    state = s["state"]
except (OSError, ValueError, LookupError, TypeError):
    sys.exit(1)
if not isinstance(state, str) or not state:
    sys.exit(1)
parts = [state]
if s.get("run_id"):
    parts.append(f"run {s['run_id']}")
batch = s.get("batch")
if isinstance(batch, list) and len(batch) == 2:
    parts.append(f"batch {batch[0]}/{batch[1]}")
if s.get("step"):
    parts.append(f"step: {s['step']}")
for key in ("failed", "held"):
    if s.get(key):
        parts.append(f"{key}: {', '.join(map(str, s[key]))}")
code = s.get("exit_code")
reports = s.get("reports") if isinstance(s.get("reports"), dict) else {}
fields = [state, s.get("run_id") or "", code if isinstance(code, int) else "", reports.get("junit_xml") or ""]
print("\n".join(str(v).replace("\n", " ") for v in [*fields, ", ".join(parts)]))
PY
}

status_body=$(python3 -c 'import json, sys; print(json.dumps([{"client": "runner", "fun": "scenario.status", "kwarg": {"jid": sys.argv[1]}}]))' "$JID")
started=$SECONDS
last=""
misses=0
state=""
run_id=$JID
while :; do
    code=$(post / <<<"$status_body") || code=${code:-000}
    if [[ $code == 200 ]] && fields=$(read_status "$WORK/answer"); then
        misses=0
        { read -r state; read -r run_id; read -r exit_code; read -r junit; read -r line; } <<<"$fields"
        if [[ $line != "$last" ]]; then
            echo "$PROG: $line"
            last=$line
        fi
        [[ $state == running ]] || break
    elif [[ $code == 401 || $code == 403 ]]; then
        die 77 "not allowed to call scenario.status (HTTP $code): external_auth needs @runner scenario.status"
    else
        misses=$((misses + 1))
        # Before the run has written its first record, scenario.status may not know the jid yet.
        if ((misses == 1)); then echo "$PROG: waiting for the run to report (HTTP $code)"; fi
        ((misses <= 20)) || die 69 "scenario.status has not answered for the run 20 times in a row"
    fi
    if ((SECONDS - started >= DEADLINE)); then
        die 75 "deadline of ${DEADLINE} s passed; the run goes on: salt-run scenario.status $run_id, or salt-run scenario.abort $run_id"
    fi
    sleep "$POLL"
done

if ! [[ $exit_code =~ ^[0-9]+$ ]]; then
    case $state in
        passed) exit_code=0 ;;
        failed) exit_code=1 ;;
        within_budget) exit_code=5 ;;
        interrupted) exit_code=6 ;;
        *) exit_code=2 ;;
    esac
fi

[[ -n $junit ]] && echo "$PROG: JUnit report on the master: $junit"
if [[ -n $JUNIT_OUT ]]; then
    # Through salt-api first: scenario.report_file hands over the file the run wrote, or the same
    # report rendered from the journal when it wrote none (at most 8 MiB). A path on the master
    # may name another file, or none, where this job runs; it is only copied when salt-api
    # could not hand the report over (e.g. a bigger one) and the job shares the directory.
    fetched=""
    if [[ $run_id =~ ^[0-9]{14}-[0-9a-f]{8}$ ]]; then
        report_body=$(python3 -c 'import json, sys; print(json.dumps([{"client": "runner", "fun": "scenario.report_file", "kwarg": {"run_id": sys.argv[1], "kind": "junit_xml"}}]))' "$run_id")
        code=$(post / <<<"$report_body") || code=${code:-000}
        if [[ $code == 200 ]] && json_field "$WORK/answer" return.0.content >"$WORK/junit.xml" && [[ -s $WORK/junit.xml ]]; then
            mv -- "$WORK/junit.xml" "$JUNIT_OUT"
            fetched=yes
            echo "$PROG: JUnit report fetched through salt-api to $JUNIT_OUT"
        else
            why=$(json_field "$WORK/answer" return.0.error 2>/dev/null || echo "HTTP $code")
            echo "$PROG: salt-api did not hand over the JUnit report of run $run_id: $why" >&2
        fi
    fi
    if [[ -z $fetched && -n $junit && -r $junit ]]; then
        cp -- "$junit" "$JUNIT_OUT"
        echo "$PROG: JUnit report copied to $JUNIT_OUT"
    elif [[ -z $fetched ]]; then
        echo "$PROG: no JUnit report for $JUNIT_OUT" >&2
    fi
fi
echo "$PROG: $state (exit $exit_code)"
exit "$exit_code"
