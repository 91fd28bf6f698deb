#!/bin/bash
# provenance.sh - `runtime-verifier provenance` end to end on repositories
# made with the git CLI: text and JSON output, options, exit codes, bad input.
source "$(dirname "$0")/../lib/tap.sh"

tmp=$(mktemp -d)
daemon_pid=
http_pid=
cleanup() {
	[ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null
	[ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export HOME=$tmp/home GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
export GIT_AUTHOR_NAME=Alice GIT_AUTHOR_EMAIL=alice@example.com
export GIT_COMMITTER_NAME=Alice GIT_COMMITTER_EMAIL=alice@example.com
git config --global init.defaultBranch main
git config --global safe.directory '*'

n=0
# commit REPO MESSAGE: a commit with a fixed, increasing date
commit() {
	n=$((n + 1))
	GIT_AUTHOR_DATE="@$((1700000000 + n)) +0000" GIT_COMMITTER_DATE="@$((1700000000 + n)) +0000" \
		git -C "$1" commit -q --allow-empty -m "$2"
}

# rv ARGS...: run the command, stdout in $out, stderr in $err, status in $rc
rv() {
	out=$("$RV" provenance "$@" 2>"$tmp/err")
	rc=$?
	err=$(cat "$tmp/err")
}

repo=$tmp/repo
git init -q "$repo"
echo 'FROM debian:12' >"$repo/Dockerfile"
git -C "$repo" add Dockerfile
commit "$repo" "root"
echo 'int main;' >"$repo/main.c"
git -C "$repo" add main.c
commit "$repo" "code only

Co-authored-by: Claude <noreply@anthropic.com>"
echo 'RUN apt-get update' >>"$repo/Dockerfile"
git -C "$repo" add Dockerfile
commit "$repo" "update the image

co-authored-BY :  Claude <noreply@anthropic.com>
Co-authored-by: Bob <bob@example.com>"
git -C "$repo" tag -a v1 -m v1
agent_sha=$(git -C "$repo" rev-parse HEAD)
echo 'x' >"$repo/README"
git -C "$repo" add README
commit "$repo" "docs"

# --- usage -----------------------------------------------------------------
rv --help
is "$rc" 0 "--help exits 0"
like "$out" "usage: runtime-verifier provenance --repo" "--help prints the usage"
rv HEAD
is "$rc" 64 "no --repo is a usage error"
like "$err" "--repo is required" "the usage error says what is missing"
rv --repo "$repo"
is "$rc" 64 "no revision is a usage error"
rv --repo "$repo" HEAD HEAD
is "$rc" 64 "two revisions are a usage error"
rv --repo "$repo" --lookback 0 HEAD
is "$rc" 64 "--lookback 0 is a usage error"
rv --repo "$repo" --lookback 10001 HEAD
is "$rc" 64 "--lookback past the maximum is a usage error"
rv --repo "$repo" --format yaml HEAD
is "$rc" 64 "an unknown format is a usage error"
rv --repo "$repo" --bogus HEAD
is "$rc" 64 "an unknown option is a usage error"
like "$("$RV" --help)" "provenance" "the command is listed by runtime-verifier --help"

# --- text ------------------------------------------------------------------
rv --repo "$repo" v1
is "$rc" 0 "an annotated tag as REV"
is "$(printf '%s\n' "$out" | head -1)" \
	"agent touched the build: yes (Claude in ${agent_sha:0:12})" \
	"the first line answers the question, naming the agent and commit"
like "$out" "commit $agent_sha \\(v1 in " "the tag is peeled to its commit"
like "$out" "trailer +co-authored-BY: Claude <noreply@anthropic.com>  \\[agent: Claude\\]" \
	"a trailer in odd case and spacing is classified"
like "$out" "trailer +Co-authored-by: Bob <bob@example.com>$" "a human co-author is not an agent"
like "$out" "signature +none" "an unsigned commit says so"
like "$out" "    M Dockerfile" "the touched build file is listed"
like "$out" "look-back: 3 commits scanned" "the look-back scans the history"

rv --repo "$repo" HEAD
is "$rc" 0 "HEAD of a local repository"
like "$out" "build files:
    none" "a commit that touched no build file lists none"
like "$out" "agent touched the build: yes" "the look-back finds the agent's earlier change"
rv --repo "$repo" --lookback 1 HEAD
like "$out" "^agent touched the build: no \\(0 commits" "--lookback 1 looks at the commit only"

rv --repo "$repo" "${agent_sha:0:8}"
is "$rc" 0 "an abbreviated sha"
like "$out" "commit $agent_sha" "the abbreviation resolves to the full sha"

# --- JSON ------------------------------------------------------------------
rv --repo "$repo" --format json "$agent_sha"
is "$rc" 0 "--format json"
json=$out
check "the JSON parses" python3 -c 'import json,sys; json.loads(sys.argv[1])' "$json"
jq_() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print($1)" "$json"; }
is "$(jq_ 'd["version"]')" 1 "JSON: version 1"
is "$(jq_ 'd["commit"]["id"]')" "$agent_sha" "JSON: commit.id"
is "$(jq_ 'd["agentTouchedBuild"]')" True "JSON: agentTouchedBuild"
is "$(jq_ 'd["signaturesVerified"]')" False "JSON: signatures are never verified"
is "$(jq_ 'd["commit"]["agents"]')" "['Claude']" "JSON: commit.agents"
is "$(jq_ '[(f["status"], f["path"]) for f in d["commit"]["buildFiles"]]')" \
	"[('M', 'Dockerfile')]" "JSON: commit.build_files"
is "$(jq_ '[t["kind"] for t in d["commit"]["trailers"]]')" \
	"['co-authored-by', 'co-authored-by']" "JSON: trailers with their kind"
is "$(jq_ 'len(d["lookback"]["commits"])')" 2 "JSON: two commits touched build files"
is "$(jq_ 'd["lookback"]["history"]')" full "JSON: the look-back walks the full history"

# --- options ---------------------------------------------------------------
rv --repo "$repo" --build-file '*.c' HEAD
like "$out" "A main.c" "--build-file replaces the default globs"
rv --repo "$repo" --build-file '[bad' HEAD
is "$rc" 2 "a malformed --build-file glob fails"
git -C "$repo" commit -q --allow-empty -m "bot change

Co-authored-by: deploy <deploy@bots.acme.io>"
echo 'RUN true' >>"$repo/Dockerfile"
git -C "$repo" commit -qam "bot edits the Dockerfile

Co-authored-by: deploy <deploy@bots.acme.io>"
rv --repo "$repo" --lookback 1 HEAD
like "$out" "^agent touched the build: no" "an unknown bot is not an agent by default"
rv --repo "$repo" --lookback 1 --agent-pattern 'Acme Bot=*@bots.acme.io' HEAD
like "$out" "^agent touched the build: yes \\(Acme Bot in" "--agent-pattern AGENT=GLOB adds a rule"
rv --repo "$repo" --no-default-agents "$agent_sha"
like "$out" "^agent touched the build: no" "--no-default-agents drops the built-in rules"

# --- signatures --------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C test -f "$tmp/key"
echo 'LABEL signed=1' >>"$repo/Dockerfile"
git -C "$repo" -c gpg.format=ssh -c user.signingkey="$tmp/key.pub" commit -q -S -am "signed change"
rv --repo "$repo" HEAD
like "$out" "signature +ssh signature present \\(not verified\\)" "an ssh-signed commit is reported, not verified"

# --- hostile text ------------------------------------------------------------
printf 'RUN x\n' >>"$repo/Dockerfile"
git -C "$repo" commit -qam "$(printf 'evil \033[31mred\033[0m title')"
rv --repo "$repo" HEAD
if printf '%s' "$out" | grep -q $'\033'; then
	not_ok "escape sequences from a commit are not printed raw"
else
	ok "escape sequences from a commit are not printed raw"
fi

# --- bad input -------------------------------------------------------------
rv --repo "$repo" deadbeefdeadbeefdeadbeefdeadbeefdeadbeef
is "$rc" 2 "an unknown sha fails with status 2"
like "$err" "^runtime-verifier provenance: unknown revision 'deadbeef" "an unknown sha says so"
rv --repo "$tmp/nowhere" HEAD
is "$rc" 2 "a missing repository fails"
like "$err" "repository '.*/nowhere' not found" "a missing repository says so"
cp -a "$repo" "$tmp/corrupt"
printf 'garbage' >"$tmp/corrupt/.git/HEAD"
printf '[core\n' >"$tmp/corrupt/.git/config"
rv --repo "$tmp/corrupt" "$agent_sha"
is "$rc" 2 "a corrupt repository fails with status 2"
like "$err" "cannot open repository" "a corrupt repository says so"
rv --repo file:///nonexistent/x.git --cache-dir "$tmp/cache" abcd
is "$rc" 2 "an unreachable URL fails with status 2"
like "$err" "cannot clone 'file:///nonexistent/x.git'" "an unreachable URL says so"

# --- owner check -------------------------------------------------------------
cp -a "$repo" "$tmp/foreign"
chown -R 1234:1234 "$tmp/foreign"
rv --repo "$tmp/foreign" "$agent_sha"
is "$rc" 2 "a repository owned by another uid is refused"
like "$err" "owned by uid 1234.*--allow-foreign-owner" "the refusal names the option"
rv --repo "$tmp/foreign" --allow-foreign-owner "$agent_sha"
is "$rc" 0 "--allow-foreign-owner opens it"

# --- URL clone into a cache --------------------------------------------------
rv --repo "file://$repo" --cache-dir "$tmp/cache" "$agent_sha"
is "$rc" 0 "a file:// URL is cloned into the cache"
is "$(ls "$tmp/cache" | grep -c '\.git$')" 1 "the cache holds one clone"
rv --repo "file://$repo" --cache-dir "$tmp/cache" --format json main
is "$rc" 0 "a branch name resolves in the cached clone"
is "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["commit"]["id"])' "$out")" \
	"$(git -C "$repo" rev-parse main)" "the cached clone's branch is the origin's"

# --- git:// from a local git daemon: clone, then fetch a newer commit -------
mkdir -p "$tmp/served"
git clone -q --bare "$repo" "$tmp/served/app.git"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
git daemon --base-path="$tmp/served" --export-all --listen=127.0.0.1 --port=$port \
	--reuseaddr --detach --pid-file="$tmp/daemon.pid"
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$tmp/daemon.pid" ] && break; sleep 0.3; done
daemon_pid=$(cat "$tmp/daemon.pid" 2>/dev/null)
for _ in $(seq 1 25); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.2; done
url=git://127.0.0.1:$port/app.git
rv --repo "$url" --cache-dir "$tmp/dcache" "$agent_sha"
is "$rc" 0 "a git:// URL is cloned from a git daemon"
like "$out" "^agent touched the build: yes \\(Claude in ${agent_sha:0:12}\\)" "and described"
git clone -q "$tmp/served/app.git" "$tmp/work"
echo 'RUN later' >>"$tmp/work/Dockerfile"
git -C "$tmp/work" commit -qam "later change

Co-authored-by: Copilot <198982749+Copilot@users.noreply.github.com>"
git -C "$tmp/work" push -q origin HEAD:main
later=$(git -C "$tmp/work" rev-parse HEAD)
rv --repo "$url" --cache-dir "$tmp/dcache" "$later"
is "$rc" 0 "a commit newer than the cached clone is fetched"
like "$out" "^agent touched the build: yes \\(GitHub Copilot in ${later:0:12}" "the fetched commit is described"
kill "$daemon_pid"
daemon_pid=
rv --repo "$url" --cache-dir "$tmp/dcache2" "$later"
is "$rc" 2 "a daemon that is gone fails with status 2"
like "$err" "cannot clone 'git://127.0.0.1:$port/app.git'" "and names the URL"

# --- https-style credentials against a server that always says 401 -------
cat >"$tmp/auth401.py" <<'PY'
import http.server, sys
log = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        log.write("%s\n" % self.headers.get("Authorization", "-")); log.flush()
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.timeout = 60
for _ in range(20):
    s.handle_request()
PY
python3 "$tmp/auth401.py" "$tmp/http.port" "$tmp/http.log" &
http_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -s "$tmp/http.port" ] && break; sleep 0.3; done
hurl=http://127.0.0.1:$(cat "$tmp/http.port")/app.git
rv --repo "$hurl" "$agent_sha"
is "$rc" 2 "a server asking for credentials without a token fails"
like "$err" "asks for credentials and no token file or ssh key was given" "and says a token is missing"
printf 's3cr3t-token\n' >"$tmp/token"
rv --repo "$hurl" --token-file "$tmp/token" "$agent_sha"
is "$rc" 2 "a refused token fails"
like "$err" "cannot clone 'http://127.0.0.1:[0-9]+/app.git': credentials refused" "and says it was refused"
if grep -q "Basic $(printf 'x-access-token:s3cr3t-token' | base64)" "$tmp/http.log"; then
	ok "the token is sent as the password of x-access-token"
else
	not_ok "the token is sent as the password of x-access-token"
fi
hurl2=http://tok:s3cr3t-url@127.0.0.1:$(cat "$tmp/http.port")/app.git
rv --repo "$hurl2" --token-file "$tmp/nonexistent-token" "$agent_sha"
is "$rc" 2 "an unreadable token file fails"
like "$err" "cannot open token file" "and names the token file"
case "$out$err" in
*s3cr3t*) not_ok "no secret from a URL or token file in any output" ;;
*) ok "no secret from a URL or token file in any output" ;;
esac
kill "$http_pid" 2>/dev/null
http_pid=

# --- shallow clone -----------------------------------------------------------
git clone -q --depth 1 "file://$repo" "$tmp/shallow"
rv --repo "$tmp/shallow" "$agent_sha"
is "$rc" 2 "a commit outside a shallow clone fails"
like "$err" "not in shallow clone" "and says it is not in the shallow clone"
rv --repo "$tmp/shallow" HEAD
is "$rc" 0 "the shallow clone's own commit is described"
like "$out" "unknown: parent not in shallow clone" "its build files are unknown, not all added"
like "$out" "stopped at the shallow clone's boundary" "the look-back says where it stopped"

done_testing
