#!/bin/bash
# fingerprint_gnu.sh - `runtime-verifier fingerprint` against the real GNU
# pipeline (find | LC_ALL=C sort -z | xargs -0 sha256sum) and against an
# independent reference manifest (tests/lib/trees.sh), on trees with every
# awkward name, type, mode, owner, mount and unreadable entry we know of.
#
# The tool and the pipeline both run as uid/gid 65534 with no groups, so
# unreadable entries are real. Needs root (mknod, mount, chown).
set -u
here=$(dirname "$0")
source "$here/../lib/tap.sh"
source "$here/../lib/trees.sh"

# same A B DESC: same_file, and A must not be empty (two empty outputs of
# a broken run are not a pass).
same() {
	if [ ! -s "$1" ]; then
		not_ok "$3"
		echo "# $1 is empty"
	else
		same_file "$@"
	fi
}

t=$(mktemp -d /tmp/rv-fpgnu.XXXXXX)
mounts=()
cleanup() {
	local m i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount "${mounts[$i]}" 2>/dev/null || umount -l "${mounts[$i]}" 2>/dev/null
	done
	rm -rf --one-file-system "$t"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
chmod 0755 "$t"

# The binary, where uid 65534 can surely execute it.
mkdir "$t/bin" "$t/out"
cp "$RV" "$t/bin/runtime-verifier" || { not_ok "copy $RV"; done_testing; }
chmod 0755 "$t/bin/runtime-verifier"
BIN=$t/bin/runtime-verifier
O=$t/out
chmod 0777 "$O"

# run NAME [nobody|root] ARGS...: runtime-verifier ARGS, stdout in
# $O/NAME.out, stderr in $O/NAME.err, exit status in $O/NAME.rc.
run() {
	local name=$1 who=$2 rc
	shift 2
	if [ "$who" = nobody ]; then
		rv_as_nobody "$BIN" "$@" >"$O/$name.out" 2>"$O/$name.err"
	else
		"$BIN" "$@" >"$O/$name.out" 2>"$O/$name.err"
	fi
	rc=$?
	echo "$rc" >"$O/$name.rc"
	sed 's/^/# stderr: /' "$O/$name.err" | head -5
	return 0
}
rc_of() { cat "$O/$1.rc"; }

# pipe NAME [nobody|root] DIR [FIND-ARGS...]: the GNU pipeline into $O/NAME.pipe
pipe() {
	local name=$1 who=$2 dir=$3
	shift 3
	if [ "$who" = nobody ]; then
		rv_as_nobody bash -c "$(declare -f rv_gnu_pipeline); rv_gnu_pipeline \"\$@\"" \
			_ "$dir" "$@" >"$O/$name.pipe" 2>"$O/$name.pipe.err"
	else
		rv_gnu_pipeline "$dir" "$@" >"$O/$name.pipe" 2>"$O/$name.pipe.err"
	fi
}

# ref NAME [nobody|root] DIR ARGS...: reference manifest (or view) into $O/NAME.ref
ref() {
	local name=$1 who=$2
	shift 2
	if [ "$who" = nobody ]; then
		rv_as_nobody bash -c "$(declare -f rv_ref_manifest); RV_PY=$RV_PY; rv_ref_manifest \"\$@\"" \
			_ "$@" >"$O/$name.ref"
	else
		rv_ref_manifest "$@" >"$O/$name.ref"
	fi
}

# has_line NAME LINE DESC: $O/NAME.out holds LINE exactly.
has_line() {
	if grep -qxF -- "$2" "$O/$1.out"; then
		ok "$3"
	else
		not_ok "$3"
		echo "# wanted: $2"
		grep -F -- "${2##* }" "$O/$1.out" | sed 's/^/# got:    /' | head -3
	fi
}
lacks() {
	if grep -q -- "$2" "$O/$1.out"; then
		not_ok "$3"
		grep -- "$2" "$O/$1.out" | sed 's/^/# found: /' | head -3
	else
		ok "$3"
	fi
}
sha_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
file_sha() { sha256sum <"$1" | cut -d' ' -f1; }

# --- the trees -----------------------------------------------------------
T=$t/T
rv_tree_odd "$T" && rv_tree_locked "$T/locked"
check "generate the odd tree" [ -d "$T/locked/private" ]
mkdir "$T/mnt" "$T/empty-dir"
mount -t tmpfs -o size=8m,mode=0755,uid=1234,gid=5678 rv-fpgnu "$T/mnt" && mounts+=("$T/mnt")
check "mount a tmpfs inside the tree" mountpoint -q "$T/mnt"
mkdir "$T/mnt/sub"
echo on-tmpfs >"$T/mnt/a"
echo deeper >"$T/mnt/sub/b"
printf 'new\nline on tmpfs\n' >"$T/mnt/$(printf 'x\ny')"

# --- the whole tree, as uid 65534 (default: mounts not descended) ----------
pipe all nobody "$T" -xdev
run all nobody fingerprint "$T" --format sha256sum
same "$O/all.out" "$O/all.pipe" \
	"sha256sum view = find -xdev | sort -z | xargs sha256sum, byte for byte (uid 65534)"
is "$(sha256sum <"$O/all.out")" "$(sha256sum <"$O/all.pipe")" \
	"aggregate = pipeline | sha256sum"
is "$(rc_of all)" 1 "exit 1 (incomplete) when entries are unreadable"
like "$(tr '\n' ' ' <"$O/all.err")" 'locked/secret' "stderr names the unreadable file"
like "$(tr '\n' ' ' <"$O/all.err")" 'locked/private' "stderr names the unreadable directory"
check "the pipeline itself could not read them either" grep -q 'locked/secret' "$O/all.pipe.err"
check "view has a line for the file named '-'" grep -qxF "$(file_sha "$T/names/-")  ./names/-" "$O/all.out"
check "view escapes a name with a newline as GNU does" \
	grep -qxF "\\$(file_sha "$T/names/$(printf 'new\nline')")  ./names/new\\nline" "$O/all.out"

run man nobody fingerprint "$T"
ref man nobody "$T"
same "$O/man.out" "$O/man.ref" "manifest = reference manifest, byte for byte (uid 65534)"
is "$(rc_of man)" 1 "manifest: exit 1 (incomplete)"
check "manifest starts with 'rv-manifest 1'" [ "$(head -n1 "$O/man.out")" = "rv-manifest 1" ]
has_line man "file 4755 0:0 5 $(file_sha "$T/modes/setuid") /modes/setuid" "setuid bit recorded"
has_line man "file 2755 0:0 5 $(file_sha "$T/modes/setgid") /modes/setgid" "setgid bit recorded"
has_line man "dir 1777 0:0 0 - /modes/sticky" "sticky directory recorded"
has_line man "elf 0755 0:0 $(stat -c %s "$T/modes/true-elf") $(file_sha "$T/modes/true-elf") /modes/true-elf" \
	"an ELF file is typed elf"
has_line man "symlink 0777 0:0 11 $(sha_of /etc/passwd) /links/abs" \
	"absolute symlink: digest = sha256 of the target string, size = its length"
has_line man "symlink 0777 0:0 6 $(sha_of loop-b) /links/loop-a" "symlink loop recorded, not followed"
has_line man "symlink 0777 0:0 4 $(sha_of self) /links/self" "self-loop recorded"
has_line man "symlink 0777 0:0 12 $(sha_of "$(printf 'odd\ntarget \\')") /links/odd-target" \
	"symlink target with a newline: digest of the raw bytes"
has_line man "symlink 0777 4321:8765 5 $(sha_of u1234) /owners/link" "symlink owner recorded (lchown)"
has_line man "file 0644 1234:5678 2 $(file_sha "$T/owners/u1234") /owners/u1234" "file owner recorded"
has_line man "fifo 0644 0:0 0 - /special/fifo" "fifo recorded (not opened)"
has_line man "socket 0755 0:0 0 - /special/socket" "socket recorded"
has_line man "chardev 0644 0:0 0 - /special/null" "character device recorded"
has_line man "blockdev 0644 0:0 0 - /special/blk" "block device recorded"
has_line man "mount 0755 1234:5678 0 - /mnt" "tmpfs mount point recorded as mount (mode of the mounted root)"
lacks man ' /mnt/' "nothing below the mount point by default"
has_line man "file 0600 0:0 7 !EACCES /locked/secret" "unreadable file: !EACCES"
has_line man "file 0000 0:0 14 !EACCES /locked/zero" "mode 0000 file: !EACCES"
has_line man "dir 0700 0:0 0 !EACCES /locked/private" "unreadable directory: !EACCES"
has_line man "dir 0311 0:0 0 !EACCES /locked/search-only" "searchable but unlistable directory: !EACCES"
lacks man ' /locked/private/' "contents of an unreadable directory are not invented"
has_line man "file 0644 0:0 5 $(file_sha "$T/names/$(printf 'bad\377\376utf8')") /names/bad\\xff\\xfeutf8" \
	"invalid UTF-8 name escaped as \\xHH"
has_line man "file 0644 0:0 3 $(file_sha "$T/names/back\\slash") /names/back\\\\slash" "backslash escaped as \\\\"
check "hardlinks are two file entries with one digest" \
	[ "$(grep -cE " $(file_sha "$T/links/target") /links/(target|hardlink)\$" "$O/man.out")" = 2 ]

run json nobody fingerprint "$T" --format json
check "--format json is valid JSON" bash -c 'jq -e . "$1" >/dev/null' _ "$O/json.out"
is "$(rc_of json)" 1 "--format json: exit 1 too"
is "$(jq -r .root "$O/json.out")" "$(sha256sum <"$O/man.out" | cut -d' ' -f1)" \
	"--format json: root = sha256 of the canonical manifest"
is "$(jq '.entries | length' "$O/json.out")" "$(($(wc -l <"$O/man.out") - 1))" \
	"--format json: one entry per manifest line"
is "$(jq .complete "$O/json.out")" false "--format json: complete is false"

# --- --cross-mounts --------------------------------------------------------
pipe cross nobody "$T"
run cross nobody fingerprint "$T" --cross-mounts --format sha256sum
same "$O/cross.out" "$O/cross.pipe" "--cross-mounts view = plain find pipeline (into the tmpfs)"
check "--cross-mounts view has the tmpfs files" grep -q ' ./mnt/sub/b$' "$O/cross.out"
run crossman nobody fingerprint "$T" --cross-mounts
ref crossman nobody "$T" --cross-mounts
same "$O/crossman.out" "$O/crossman.ref" "--cross-mounts manifest = reference"
has_line crossman "dir 0755 1234:5678 0 - /mnt" "--cross-mounts: the mount point is a dir"

# --- --path ------------------------------------------------------------------
for p in names links modes locked mnt; do
	pipe "p-$p" nobody "$T/$p"
	run "p-$p" nobody fingerprint "$T" --path "/$p" --format sha256sum
	same "$O/p-$p.out" "$O/p-$p.pipe" "--path /$p view = pipeline inside $p"
done
is "$(rc_of p-names)" 0 "--path /names: exit 0 (complete)"
is "$(rc_of p-locked)" 1 "--path /locked: exit 1 (incomplete)"
check "--path /mnt: the walked path itself is not a mount below it" grep -q ' ./sub/b$' "$O/p-mnt.out"

run pm nobody fingerprint "$T" --path /names
ref pm nobody "$T" --path /names
same "$O/pm.out" "$O/pm.ref" "--path /names manifest = reference"
lacks pm ' /links' "--path /names lists nothing outside /names"

(cd "$T" && find ./links ./names -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) \
	>"$O/two.pipe" 2>/dev/null
run two root fingerprint "$T" --path /names --path /links --format sha256sum
same "$O/two.out" "$O/two.pipe" "two --path: view = find ./links ./names pipeline (relative to /)"
run twoman root fingerprint "$T" --path /links --path /names
ref twoman root "$T" --path /links --path /names
same "$O/twoman.out" "$O/twoman.ref" "two --path: manifest = reference"

run psub nobody fingerprint "$T" --path "/names/dir with space" --format sha256sum
pipe psub nobody "$T/names/dir with space"
same "$O/psub.out" "$O/psub.pipe" "--path with a space in it"

run pfile root fingerprint "$T" --path /links/target
has_line pfile "file 0644 0:0 7 $(file_sha "$T/links/target") /links/target" "--path to a single file"
run plink root fingerprint "$T" --path /links/dirlink
has_line plink "symlink 0777 0:0 8 $(sha_of ../names) /links/dirlink" \
	"--path naming a symlink records the link, does not follow it"
lacks plink '/links/dirlink/' "nothing below a symlinked --path"
run pmissing root fingerprint "$T" --path /no/such
has_line pmissing "unknown 0000 0:0 0 !ENOENT /no/such" "a missing --path is an unknown !ENOENT entry"
check_fails "a missing --path is not complete" [ "$(rc_of pmissing)" = 0 ]

# --- --exclude ---------------------------------------------------------------
run ex root fingerprint "$T" --exclude '*.bin' --exclude /links --exclude '/special/f*'
ref ex root "$T"
awk '{ p = $NF } p ~ /\.bin$/ || p == "/links" || p ~ /^\/links\// || p ~ /^\/special\/f/ { next } { print }' \
	"$O/ex.ref" >"$O/ex.want"
same "$O/ex.out" "$O/ex.want" "--exclude drops matches and everything below an excluded dir"

# --- as root: everything is readable ----------------------------------------
pipe root root "$T" -xdev
run root root fingerprint "$T" --format sha256sum
same "$O/root.out" "$O/root.pipe" "as root: view = pipeline"
is "$(rc_of root)" 0 "as root: exit 0 (complete)"
run rootman root fingerprint "$T"
ref rootman root "$T"
same "$O/rootman.out" "$O/rootman.ref" "as root: manifest = reference"

# --- nothing that changes by copying -----------------------------------------
mkdir "$t/copy"
cp -a "$T/names" "$T/links" "$T/modes" "$T/owners" "$t/copy/"
find "$t/copy" -exec touch -h -d '2001-02-03 04:05:06' {} +
run orig root fingerprint "$T" --path /names --path /links --path /modes --path /owners
run copy root fingerprint "$t/copy" --path /names --path /links --path /modes --path /owners
same "$O/copy.out" "$O/orig.out" "a cp -a copy with other timestamps and inodes has the same manifest"
run again root fingerprint "$T" --path /names --path /links --path /modes --path /owners
same "$O/again.out" "$O/orig.out" "two walks of the same tree give the same bytes"

# --- a bind-mounted file and a same-filesystem bind-mounted directory --------
B=$t/B
mkdir -p "$B/app/conf" "$t/bindsrc" "$t/conf-src"
mount -t tmpfs -o size=1m,mode=0755 rv-fpgnu-src "$t/bindsrc" && mounts+=("$t/bindsrc")
echo '127.0.0.1 localhost' >"$t/bindsrc/hosts"
echo keep >"$B/app/x"
: >"$B/app/hosts"
mount --bind "$t/bindsrc/hosts" "$B/app/hosts" && mounts+=("$B/app/hosts")
echo 'key: value' >"$t/conf-src/cfg.yaml"
mount --bind "$t/conf-src" "$B/app/conf" && mounts+=("$B/app/conf")
run bind root fingerprint "$B" --path /app
like "$(grep -F ' /app/hosts' "$O/bind.out")" '^mount .* /app/hosts$' "a bind-mounted file is recorded as mount"
like "$(grep -F ' /app/conf' "$O/bind.out" | head -1)" '^mount .* /app/conf$' \
	"a bind-mounted dir from the same filesystem is recorded as mount"
lacks bind '/app/conf/' "nothing below the bind-mounted dir"
pipe bindx root "$B/app"
run bindx root fingerprint "$B" --path /app --cross-mounts --format sha256sum
same "$O/bindx.out" "$O/bindx.pipe" "--cross-mounts over bind mounts: view = plain pipeline"

# --- thread counts do not change the output -----------------------------------
run th1 root fingerprint "$T" --threads 1
run th5 root fingerprint "$T" --threads 5
same "$O/th1.out" "$O/rootman.out" "--threads 1 gives the same manifest"
same "$O/th5.out" "$O/rootman.out" "--threads 5 gives the same manifest"

# --- 200k entries ----------------------------------------------------------------
# On a tmpfs (ext4 here creates ~1,000 files/s; unmounting frees it at
# once); one file in ten has content, so it holds ~80 MB.
W=$t/W
mkdir "$W"
mount -t tmpfs -o size=1g,nr_inodes=400k,mode=0755 rv-fpgnu-wide "$W" && mounts+=("$W")
"$RV_PY" - "$W" <<'PY'
import os, sys
top = sys.argv[1]
long = 'L' * 240
for d in range(400):
    dp = os.path.join(top, 'd%03d' % d, 'sub')
    os.makedirs(dp)
    for f in range(500):
        name = ('%s%03d' % (long, f)) if f % 50 == 0 else ('f%03d' % f)
        with open(os.path.join(dp, name), 'w') as fh:
            if f % 10 == 0:
                fh.write('%d/%d\n' % (d, f))
PY
check "the wide tree has 200,000 files" [ "$(find "$W" -type f | wc -l)" -eq 200000 ]
pipe wide root "$W"
/usr/bin/time -f '%M' -o "$O/wide.rss" "$BIN" fingerprint "$W" --format sha256sum >"$O/wide.out" 2>"$O/wide.err"
is "$?" 0 "200k files: exit 0"
same "$O/wide.out" "$O/wide.pipe" "200k files: view = pipeline, byte for byte"
echo "# 200k files: peak RSS $(tail -n1 "$O/wide.rss") KiB"
run wideman root fingerprint "$W"
is "$(($(wc -l <"$O/wideman.out") - 1))" 200801 "200k files: manifest has every file and dir (200,801 entries)"

# --- deeper than PATH_MAX ------------------------------------------------------
D=$t/D
rv_tree_deep "$D" 20
check "the deep tree is deeper than PATH_MAX" \
	[ "$(cd "$D" && find . -name bottom | wc -c)" -gt "$(getconf PATH_MAX /)" ]
run deep nobody fingerprint "$D" --format sha256sum
ref deep nobody "$D" --view
same "$O/deep.out" "$O/deep.ref" "deep tree: view = reference view (every file, at any depth)"
is "$(rc_of deep)" 0 "deep tree: exit 0"
pipe deep nobody "$D"
is "$(wc -l <"$O/deep.out")" 5 "deep tree: all 5 files hashed"
# sha256sum itself cannot open names longer than PATH_MAX (ENAMETOOLONG):
# every line it does print must be ours, and the rest are the ones it
# says are too long.
is "$(comm -13 <(sort "$O/deep.out") <(sort "$O/deep.pipe") | wc -l)" 0 \
	"deep tree: every line the pipeline prints is ours, byte for byte"
is "$(($(wc -l <"$O/deep.pipe") + $(grep -c 'File name too long' "$O/deep.pipe.err")))" \
	"$(wc -l <"$O/deep.out")" "deep tree: we add exactly the files sha256sum called too long"
run deepman nobody fingerprint "$D"
ref deepman nobody "$D"
same "$O/deepman.out" "$O/deepman.ref" "deep tree: manifest = reference"

# --- a tree with no regular file ---------------------------------------------
# xargs without -r still runs sha256sum once, on its empty input: the
# pipeline prints one line for it, and so must the view.
mkdir -p "$t/empty/dir/sub"
ln -s nowhere "$t/empty/dir/link"
(cd "$t/empty" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) > "$t/empty.gnu"
"$RV" fingerprint "$t/empty" --format sha256sum > "$t/empty.rv"
same_file "$t/empty.rv" "$t/empty.gnu" "a tree with no file: the view is the pipeline's one line for empty input"

done_testing
