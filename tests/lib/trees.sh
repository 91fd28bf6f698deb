# trees.sh - generate awkward directory trees and independent references
# for them. Source it after tap.sh (needs root to create the trees).
#
#   rv_tree_odd DIR      names with spaces, newlines, CRs, backslashes,
#                        invalid UTF-8, '-', 255-byte names; empty files,
#                        hardlinks, symlink loops, absolute, relative and
#                        dangling symlinks, fifos, a socket, device nodes,
#                        setuid/setgid/sticky modes, odd owners, ELF files.
#                        Everything readable by any uid.
#   rv_tree_locked DIR   unreadable entries for a non-root uid: a 0600
#                        root file, a 0700 root dir with content, a 0000
#                        file, a 0311 dir (searchable, not listable)
#   rv_tree_deep DIR N   a chain of N directories with 250-byte names
#                        (N=20: paths of ~5 KB, deeper than PATH_MAX) and a
#                        file at every fifth level and at the bottom
#   rv_gnu_pipeline DIR [FIND-ARGS...]
#                        the reference: cd DIR && find . FIND-ARGS -type f
#                        -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
#   rv_ref_manifest DIR [--path P]... [--cross-mounts] [--view]
#                        an independent reference manifest (Python, walks
#                        with dir fds, so no PATH_MAX limit), or with
#                        --view its sha256sum view
#   rv_as_nobody CMD...  run CMD as uid/gid 65534 with no groups
#
# The reference manifest follows docs/manifest.md: the walked path itself
# is an entry, a directory on another device than its parent is a `mount`
# with the mounted root's mode and owner, unreadable entries carry !ERRNO.

RV_PY=${RV_PY:-/usr/bin/python3}

rv_as_nobody() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
}

# A file with n bytes of deterministic content.
rv_tree_blob() {
	head -c "$2" /dev/zero | tr '\0' "${3:-x}" >"$1"
}

rv_tree_odd() {
	local d=$1 n
	mkdir -p "$d" || return 1
	(
		set -e
		cd "$d"
		mkdir names links special modes owners
		# names
		echo space >"names/with space"
		echo nl >"names/$(printf 'new\nline')"
		echo cr >"names/$(printf 'carriage\rreturn')"
		echo bs >'names/back\slash'
		echo 'bs-n' >'names/literal\n'
		echo utf8 >"names/$(printf 'bad\377\376utf8')"
		echo half >"names/$(printf 'half\303(')"
		echo tab >"names/$(printf 'tab\there')"
		echo dash >names/-
		echo dashname >names/--help
		echo hidden >names/.hidden
		echo dots >names/..dots
		: >names/empty
		: >"names/empty two"
		mkdir "names/dir with space" "names/$(printf 'dir\nnl')"
		echo inside >"names/dir with space/a b"
		echo inside2 >"names/$(printf 'dir\nnl')/$(printf 'x\\y\nz')"
		n=$(printf 'n%.0s' $(seq 255))
		echo long >"names/$n"
		echo 'é' >"names/$(printf 'caf\303\251')"
		# a file bigger than any read buffer, with mixed content
		head -c 3000000 /dev/urandom >names/big.bin
		# links
		echo target >links/target
		ln links/target links/hardlink
		ln names/- links/hard-dash
		ln -s loop-b links/loop-a
		ln -s loop-a links/loop-b
		ln -s self links/self
		ln -s /etc/passwd links/abs
		ln -s /nonexistent/dangling links/abs-dangling
		ln -s target links/rel
		ln -s ../names links/dirlink
		ln -s "$(printf 'odd\ntarget \\')" links/odd-target
		ln -s ../../../../../../.. links/up
		# special files
		mkfifo special/fifo
		"$RV_PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' special/socket
		mknod special/null c 1 3
		mknod special/blk b 7 250
		# modes
		echo suid >modes/setuid; chmod 4755 modes/setuid
		echo sgid >modes/setgid; chmod 2755 modes/setgid
		echo ro >modes/readonly; chmod 0444 modes/readonly
		echo x >modes/exec; chmod 0755 modes/exec
		mkdir modes/sticky; chmod 1777 modes/sticky
		echo in-sticky >modes/sticky/f
		mkdir modes/setgid-dir; chmod 2775 modes/setgid-dir
		cp /bin/true modes/true-elf
		printf '\177ELF' >modes/elf-magic-only
		printf '\177EL' >modes/not-elf
		# owners
		echo o >owners/u1234; chown 1234:5678 owners/u1234
		ln -s u1234 owners/link; chown -h 4321:8765 owners/link
		mkdir owners/d; chown 1000:1000 owners/d
	)
}

rv_tree_locked() {
	local d=$1
	mkdir -p "$d" || return 1
	(
		set -e
		cd "$d"
		echo open >readable
		echo secret >secret; chmod 0600 secret
		echo nobody-cannot >zero; chmod 0000 zero
		mkdir private; echo p >private/inside; chmod 0700 private
		mkdir search-only; echo s >search-only/known; chmod 0311 search-only
	)
}

rv_tree_deep() {
	local d=$1 n=$2 name i
	name=$(printf 'd%.0s' $(seq 250))
	mkdir -p "$d" || return 1
	(
		set -e
		cd "$d"
		for i in $(seq "$n"); do
			mkdir "$name"
			cd "$name"
			if [ $((i % 5)) -eq 0 ]; then
				echo "level $i" >"file$i"
			fi
		done
		echo bottom >bottom
		ln -s "$d" abs-back
	)
}

rv_gnu_pipeline() {
	local d=$1
	shift
	(cd "$d" && find . "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

rv_ref_manifest() {
	"$RV_PY" - "$@" <<'PY'
import errno, hashlib, os, stat, sys

args = sys.argv[1:]
top = os.fsencode(args.pop(0))
paths, cross, view = [], False, False
while args:
    a = args.pop(0)
    if a == '--path':
        paths.append(os.fsencode(args.pop(0)))
    elif a == '--cross-mounts':
        cross = True
    elif a == '--view':
        view = True
    else:
        sys.exit('rv_ref_manifest: bad argument %r' % a)
if not paths:
    paths = [b'/']

entries = {}   # path bytes -> (type, mode, uid, gid, size, digest)

def ename(e):
    return '!' + errno.errorcode.get(e.errno, 'E%d' % e.errno)

def add(path, typ, st, size=0, digest='-'):
    mode = stat.S_IMODE(st.st_mode) if st else 0
    uid = st.st_uid if st else 0
    gid = st.st_gid if st else 0
    entries[path] = (typ, mode, uid, gid, size, digest)

def visit(pfd, name, path, pdev):
    try:
        st = os.stat(name, dir_fd=pfd, follow_symlinks=False)
    except OSError as e:
        add(path, 'unknown', None, 0, ename(e))
        return
    m = st.st_mode
    if stat.S_ISDIR(m):
        if pdev is not None and st.st_dev != pdev and not cross:
            add(path, 'mount', st)
            return
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                         dir_fd=pfd)
            names = [os.fsencode(n) for n in os.listdir(fd)]
        except OSError as e:
            add(path, 'dir', st, 0, ename(e))
            return
        add(path, 'dir', st)
        base = b'' if path == b'/' else path
        for n in names:
            visit(fd, n, base + b'/' + n, st.st_dev)
        os.close(fd)
    elif stat.S_ISREG(m):
        if pdev is not None and st.st_dev != pdev and not cross:
            add(path, 'mount', st)
            return
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK,
                         dir_fd=pfd)
        except OSError as e:
            add(path, 'file', st, st.st_size, ename(e))
            return
        h = hashlib.sha256()
        head = b''
        with os.fdopen(fd, 'rb') as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                if len(head) < 4:
                    head += b[:4 - len(head)]
                h.update(b)
        add(path, 'elf' if head == b'\x7fELF' else 'file', st, st.st_size,
            h.hexdigest())
    elif stat.S_ISLNK(m):
        t = os.readlink(name, dir_fd=pfd)
        add(path, 'symlink', st, len(t), hashlib.sha256(t).hexdigest())
    else:
        typ = ('fifo' if stat.S_ISFIFO(m) else 'socket' if stat.S_ISSOCK(m)
               else 'chardev' if stat.S_ISCHR(m) else 'blockdev'
               if stat.S_ISBLK(m) else 'unknown')
        add(path, typ, st)

topfd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
# A walked path is never a mount "below" itself: it is descended (pdev
# None); its leading components are plain directories in these tests.
for p in paths:
    comps = [c for c in p.split(b'/') if c]
    fd = topfd
    try:
        for c in comps[:-1]:
            fd = os.open(c, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                         dir_fd=fd)
    except OSError as e:
        entries[p] = ('unknown', 0, 0, 0, 0, ename(e))
        continue
    visit(fd, comps[-1] if comps else b'.', p, None)

def esc(p):
    out = []
    for c in p:
        if 0x21 <= c <= 0x7e and c != 0x5c:
            out.append(chr(c))
        elif c == 0x5c:
            out.append('\\\\')
        else:
            out.append('\\x%02x' % c)
    return ''.join(out)

out = sys.stdout.buffer
if not view:
    out.write(b'rv-manifest 1\n')
    for p in sorted(entries):
        t, mode, uid, gid, size, dg = entries[p]
        out.write(('%s %04o %d:%d %d %s %s\n'
                   % (t, mode, uid, gid, size, dg, esc(p))).encode())
else:
    base = paths[0] if len(paths) == 1 else b'/'
    for p in sorted(entries):
        t, mode, uid, gid, size, dg = entries[p]
        if t not in ('file', 'elf') or dg.startswith('!'):
            continue
        rel = b'./' + (p[len(base):].lstrip(b'/') if base != b'/' else p[1:])
        if any(c in rel for c in b'\\\n\r'):
            rel = (rel.replace(b'\\', b'\\\\').replace(b'\n', b'\\n')
                   .replace(b'\r', b'\\r'))
            out.write(b'\\')
        out.write(dg.encode() + b'  ' + rel + b'\n')
PY
}
