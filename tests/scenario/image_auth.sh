#!/bin/bash
# image_auth.sh - registry auth for `runtime-verifier image`: Basic
# (htpasswd) over TLS with a private CA, the Bearer token flow with a
# token server (`token` and `access_token` answers), credentials from a
# docker config.json, and clear errors for missing or wrong credentials,
# an untrusted certificate and credential helpers. Secrets never appear in
# messages.
set -u
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/tap.sh"
source "$here/../lib/registry.sh"

registry_test_dir image-auth

cat > "$t/spec.json" <<'EOF'
{"images": [{"tag": "v1", "layers": [{"entries": [
  {"path": "app/hello", "data": "hello\n"}]}]}]}
EOF
python3 "$RV_TOP/tests/lib/mkimage.py" "$t/spec.json" "$t/oci"
want="$(printf 'hello\n' | sha256sum | cut -d' ' -f1)  ./hello"

# dockercfg FILE HOST USER PASS [style]: write a docker config.json.
dockercfg() {
	if [ "${5:-auth}" = auth ]; then
		printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$2" "$(printf '%s:%s' "$3" "$4" | base64 -w0)" > "$1"
	else
		printf '{"auths":{"https://%s/v1/":{"username":"%s","password":"%s"}}}\n' "$2" "$3" "$4" > "$1"
	fi
}

# --- Basic auth over TLS with a private CA --------------------------------
check "registry with htpasswd and TLS starts" registry_start "$t/basic" --basic alice:s3cret-basic --tls
check "push with basic credentials" registry_push "$t/oci:v1" app/one:v1 --dest-creds alice:s3cret-basic
B=("$RV" image --no-cache --registry-ca "$REG_CA" --path /app --format sha256sum)

dockercfg "$t/good.json" "$REG_HOST" alice s3cret-basic
out=$("${B[@]}" --docker-config "$t/good.json" "$REG_HOST/app/one:v1" 2>"$t/err")
is "$out" "$want" "basic auth from config.json 'auth' works over TLS with --registry-ca"
dockercfg "$t/good2.json" "$REG_HOST" alice s3cret-basic userpass
out=$("${B[@]}" --docker-config "$t/good2.json" "$REG_HOST/app/one:v1" 2>"$t/err")
is "$out" "$want" "basic auth from username/password under an https://HOST/v1/ key works"
DOCKER_CONFIG=$t/dc HOME=$t/nohome
mkdir -p "$t/dc" && cp "$t/good.json" "$t/dc/config.json"
out=$(DOCKER_CONFIG=$t/dc "${B[@]}" "$REG_HOST/app/one:v1" 2>"$t/err")
is "$out" "$want" "\$DOCKER_CONFIG/config.json is the default"

dockercfg "$t/bad.json" "$REG_HOST" alice wrong-password-xyz
"${B[@]}" --docker-config "$t/bad.json" "$REG_HOST/app/one:v1" >"$t/out" 2>"$t/err"
is "$?" 2 "wrong password exits 2"
like "$(cat "$t/err")" "refused the credentials of user 'alice'.*app/one" "wrong password: says which user, registry and image"
check_fails "wrong password: the secret is not printed" grep -q wrong-password-xyz "$t/err"
is "$(wc -c < "$t/out")" 0 "wrong password: no output"

HOME=$t/nohome "${B[@]}" "$REG_HOST/app/one:v1" >"$t/out" 2>"$t/err"
is "$?" 2 "no credentials exits 2"
like "$(cat "$t/err")" "wants basic auth .*no credentials are configured" "no credentials: says so"

"$RV" image --no-cache --docker-config "$t/good.json" "$REG_HOST/app/one:v1" >"$t/out" 2>"$t/err"
is "$?" 2 "TLS without the private CA fails"
like "$(cat "$t/err")" "certificate|SSL" "TLS without the private CA: a certificate error"

printf '{"credHelpers":{"%s":"secretservice"}}\n' "$REG_HOST" > "$t/helper.json"
"${B[@]}" --docker-config "$t/helper.json" "$REG_HOST/app/one:v1" >"$t/out" 2>"$t/err"
like "$(cat "$t/err")" "credential helpers are not supported" "credHelpers: a clear not-supported error"
printf '{"credsStore":"desktop"}\n' > "$t/store.json"
"${B[@]}" --docker-config "$t/store.json" "$REG_HOST/app/one:v1" >"$t/out" 2>"$t/err"
like "$(cat "$t/err")" "credential store 'desktop'.*not supported" "credsStore: a clear not-supported error"
"${B[@]}" --docker-config "$t/missing.json" "$REG_HOST/app/one:v1" >"$t/out" 2>"$t/err"
like "$(cat "$t/err")" "cannot open docker config '.*missing.json'" "a missing --docker-config is named"
registry_stop

# --- Bearer tokens -------------------------------------------------------
for field in token access_token; do
	check "token server ($field) starts" token_start "$t/tok-$field" --user bob --password s3cret-token --field "$field"
	pids+=("$TOKEN_PID")
	check "registry with token auth starts" registry_start "$t/treg-$field" --token "$TOKEN_REALM" "$TOKEN_CERT"
	check "push through the token flow" registry_push "$t/oci:v1" app/two:v1 --dest-creds bob:s3cret-token
	dockercfg "$t/tok.json" "$REG_HOST" bob s3cret-token
	: > "$t/tok-$field/token.log"
	out=$("$RV" image --no-cache --insecure-registry "$REG_HOST" --docker-config "$t/tok.json" \
		--path /app --format sha256sum --stats "$REG_HOST/app/two:v1" 2>"$t/err")
	is "$out" "$want" "bearer flow with '$field' answers works"
	is "$(wc -l < "$t/tok-$field/token.log") $(grep -c '"auth": true, "status": 200' "$t/tok-$field/token.log")" "1 1" \
		"bearer ($field): one token request, with basic credentials, reused for manifest and blobs"
	dockercfg "$t/bad.json" "$REG_HOST" bob wrong-password-xyz
	"$RV" image --no-cache --insecure-registry "$REG_HOST" --docker-config "$t/bad.json" \
		"$REG_HOST/app/two:v1" >"$t/out" 2>"$t/err"
	like "$(cat "$t/err")" "token server .* refused the credentials for 'app/two'" "bearer ($field): wrong credentials name the token server and image"
	check_fails "bearer ($field): the secret is not printed" grep -q wrong-password-xyz "$t/err"
	HOME=$t/nohome "$RV" image --no-cache --insecure-registry "$REG_HOST" "$REG_HOST/app/two:v1" >"$t/out" 2>"$t/err"
	like "$(cat "$t/err")" "refused anonymous access" "bearer ($field): anonymous is refused by the token server, and said so"
	registry_stop
	stop_pid "$TOKEN_PID"
done

# Token expiry: a token that expires within seconds is not reused.
check "short-lived token server starts" token_start "$t/tok-short" --user bob --password s3cret-token --expires-in 2
pids+=("$TOKEN_PID")
check "registry with short-lived tokens starts" registry_start "$t/treg-short" --token "$TOKEN_REALM" "$TOKEN_CERT"
check "push (short-lived tokens)" registry_push "$t/oci:v1" app/two:v1 --dest-creds bob:s3cret-token
dockercfg "$t/tok.json" "$REG_HOST" bob s3cret-token
: > "$t/tok-short/token.log"
out=$("$RV" image --no-cache --insecure-registry "$REG_HOST" --docker-config "$t/tok.json" --jobs 1 \
	--path /app --format sha256sum "$REG_HOST/app/two:v1" 2>"$t/err")
is "$out" "$want" "short-lived tokens: works"
like "$(grep -c '"status": 200' "$t/tok-short/token.log")" '^[2-9]' "short-lived tokens: fetched again instead of reused past expiry"
registry_stop

done_testing
