#!/usr/bin/env bash
# Replays the requests of Amazon's Appstore "API Access" page against a pytest-lwa server it starts:
# the token request, then each error of the page's table, then the page's own curl line verbatim
# (which lacks "&scope", so the mock answers that scope is missing). Exits non-zero on any difference.
# Needs curl and pytest-lwa[tls] (the page's curl uses https with -k).
set -euo pipefail
PYTHON=${PYTHON:-python3}
dir=$(mktemp -d)
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT

"$PYTHON" -m pytest_lwa serve --tls --port 0 --ready-file "$dir/ready.json" --log-level warning >"$dir/out" &
pid=$!
for _ in $(seq 100); do [ -s "$dir/ready.json" ] && break; sleep 0.1; done
url=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["url"])' "$dir/ready.json")
id=amzn1.application-oa2-client.0123456789abcdef0123456789abcdef
secret=amzn1.oa2-cs.v1.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
form='Content-Type: application/x-www-form-urlencoded'
failures=0

# expect STATUS BODY-PATTERN CURL-ARGS...: the answer's status and body (a shell pattern) must match.
expect() {
    local want_status=$1 want_body=$2 answer status body
    shift 2
    answer=$(curl -k -s -w '\n%{http_code}' "$@")
    status=${answer##*$'\n'}
    body=${answer%$'\n'*}
    # shellcheck disable=SC2053 # the body is matched as a pattern on purpose
    if [[ $status == "$want_status" && $body == $want_body ]]; then
        echo "ok   $status $body"
    else
        echo "FAIL wanted $want_status $want_body, got $status $body"
        failures=$((failures + 1))
    fi
}

echo "1. Send token request"
expect 200 '{"access_token":"Atc|*","scope":"appstore::apps:readwrite","token_type":"bearer","expires_in":3600}' \
    -X POST -H "$form" -d "grant_type=client_credentials&client_id=$id&client_secret=$secret&scope=appstore::apps:readwrite" \
    "$url/auth/o2/token"
expect 200 '{"access_token":"Atc|*","scope":"adx_reporting::appstore:marketer","token_type":"bearer","expires_in":3600}' \
    -X POST -H "$form" -d "grant_type=client_credentials&client_id=$id&client_secret=$secret&scope=adx_reporting::appstore:marketer" \
    "$url/auth/o2/token"

echo "3. Handle any error responses"
expect 401 '{"error_description":"Client authentication failed","error":"invalid_client"}' \
    -X POST -H "$form" -d "grant_type=client_credentials&client_id=$id&client_secret=wrong&scope=appstore::apps:readwrite" \
    "$url/auth/o2/token"
expect 400 '{"error_description":"The request has an invalid parameter : scope","error":"invalid_scope"}' \
    -X POST -H "$form" -d "grant_type=client_credentials&client_id=$id&client_secret=$secret&scope=appstore::apps:write" \
    "$url/auth/o2/token"
expect 400 '{"error_description":"The authorization grant type is not supported by the authorization server","error":"unsupported_grant_type"}' \
    -X POST -H "$form" -d "grant_type=client_credential&client_id=$id&client_secret=$secret&scope=appstore::apps:readwrite" \
    "$url/auth/o2/token"
expect 400 '{"error_description":"The Content-Type is not supported by the authorization server","error":"invalid_request"}' \
    -X POST -H 'Content-Type: text/plain' -d "grant_type=client_credentials&client_id=$id&client_secret=$secret&scope=appstore::apps:readwrite" \
    "$url/auth/o2/token"

echo "The page's sample cURL request, verbatim but for the host"
expect 400 '{"error_description":"The request is missing a required parameter : scope","error":"invalid_request"}' \
    -k -X POST -H 'Content-Type: application/x-www-form-urlencoded' -d "grant_type=client_credentials&client_id=$id&client_secret=$secret=appstore::apps:readwrite" \
    "$url/auth/O2/token"

echo "replayed 7 requests: $failures differed"
[ "$failures" -eq 0 ]
