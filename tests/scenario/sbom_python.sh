#!/bin/bash
# sbom_python.sh - the Python cataloger on Debian's dist-packages and on a venv pip installed into, against importlib.metadata
source "$(dirname "$0")/../lib/tap.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3 # Debian's, whatever python3 is first on PATH

# "name version" of every distribution importlib.metadata finds in the
# directories given (what Python itself would import)
importlib_list() {
	"$py" -c '
import importlib.metadata as m, sys
for d in m.distributions(path=sys.argv[1:]):
    print(d.metadata["Name"], d.version)' "$@" | LC_ALL=C sort
}
bom_list() {
	"$py" -c '
import json, sys
for c in json.load(open(sys.argv[1]))["components"]:
    if c.get("purl", "").startswith("pkg:pypi/"):
        print(c["name"], c["version"])' "$1" | LC_ALL=C sort
}

# 1. Debian's dist-packages (python3-yaml, python3-jsonschema, ... as
# installed by dpkg: dist-info directories, egg-info directories and
# egg-info files)
dp=/usr/lib/python3/dist-packages
importlib_list "$dp" >"$tmp/want"
"$RV" sbom "$dp" >"$tmp/dp.json" 2>"$tmp/err"
is "$?" 0 "sbom exits 0 on $dp"
bom_list "$tmp/dp.json" >"$tmp/got"
is "$(wc -l <"$tmp/got")" "$(wc -l <"$tmp/want")" \
	"as many distributions as importlib.metadata ($(wc -l <"$tmp/want"))"
same_file "$tmp/got" "$tmp/want" "the same names and versions as importlib.metadata"
check "python3-yaml's PyYAML 6.0 is catalogued" grep -qx 'PyYAML 6.0' "$tmp/got"
like "$(grep -o '"pkg:pypi/pyyaml@[^"]*"' "$tmp/dp.json" | head -1)" '^"pkg:pypi/pyyaml@6\.0"$' \
	"PyYAML's purl has the PEP 503 normalised name"

# 2. A venv: pip and setuptools installed by ensurepip (dist-info), and a
# local project installed by pip (no wheel package here, so the legacy
# setup.py install path: an egg-info directory)
"$py" -m venv "$tmp/venv" >"$tmp/venv.log" 2>&1
check "python3 -m venv made a venv with pip" test -x "$tmp/venv/bin/pip"
mkdir -p "$tmp/proj/rvdemo"
: >"$tmp/proj/rvdemo/__init__.py"
printf 'from setuptools import setup\nsetup(name="rv_demo.Pkg", version="1.2.3+local", packages=["rvdemo"])\n' >"$tmp/proj/setup.py"
"$tmp/venv/bin/pip" install -q --no-index --no-build-isolation "$tmp/proj" >>"$tmp/venv.log" 2>&1
is "$?" 0 "pip installs a local project into the venv"
site=$(echo "$tmp"/venv/lib/python3*/site-packages)
importlib_list "$site" >"$tmp/vwant"
"$RV" sbom "$tmp/venv" >"$tmp/venv.json" 2>"$tmp/err"
is "$?" 0 "sbom exits 0 on the venv"
bom_list "$tmp/venv.json" >"$tmp/vgot"
same_file "$tmp/vgot" "$tmp/vwant" "the venv's distributions match importlib.metadata ($(wc -l <"$tmp/vwant"))"
check "the pip-installed project has a normalised, encoded purl" \
	grep -q '"purl": "pkg:pypi/rv-demo-pkg@1.2.3%2Blocal"' "$tmp/venv.json"
loc=$(grep -A3 '"name": "runtime-verifier:location"' "$tmp/venv.json" | grep -o '"value": "[^"]*rv_demo[^"]*"')
like "$loc" '"value": "/lib/python3[^/]*/site-packages/rv_demo\.Pkg-1\.2\.3\+local[^/]*\.egg-info"' \
	"the location is the egg-info directory, inside the tree"

# 3. Dropping a dist-info into site-packages (what a runtime pip install
# leaves) shows up; a truncated METADATA is a warning naming it
cp -r "$site/pip-"*.dist-info "$site/dropped-9.9.dist-info"
printf 'Metadata-Version: 2.1\nName: dropped\nVersion: 9.9\n' >"$site/dropped-9.9.dist-info/METADATA"
mkdir "$site/trunc-1.0.dist-info"
printf 'Metadata-Version: 2.1\nNa' >"$site/trunc-1.0.dist-info/METADATA"
"$RV" sbom --format text "$tmp/venv" >"$tmp/v2.txt" 2>"$tmp/err"
is "$?" 0 "a truncated METADATA does not fail the catalogue"
check "a dist-info dropped into site-packages is catalogued" \
	grep -q '^pkg:pypi/dropped@9.9  ' "$tmp/v2.txt"
like "$(cat "$tmp/err")" "warning: '/lib/python3[^/]*/site-packages/trunc-1\.0\.dist-info/METADATA': no Name header" \
	"the truncated METADATA is a warning naming the file"
is "$(grep -c '^pkg:pypi/' "$tmp/v2.txt")" "$(( $(wc -l <"$tmp/vwant") + 1 ))" \
	"the rest is still catalogued"
done_testing
