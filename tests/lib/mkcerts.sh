#!/bin/sh
# mkcerts.sh DIR - a throwaway CA, a server certificate for 127.0.0.1 and
# localhost, and a client certificate, all signed by the CA, for tests.
# Writes DIR/{ca,server,client}.{crt,key}.
set -eu
d=$1
mkdir -p "$d"
cd "$d"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
	-subj "/CN=rv-test-ca" >/dev/null 2>&1
for who in server client; do
	openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" \
		-subj "/CN=rv-test-$who" >/dev/null 2>&1
	if [ "$who" = server ]; then
		printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > ext
	else
		printf 'extendedKeyUsage=clientAuth\n' > ext
	fi
	openssl x509 -req -in "$who.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
		-out "$who.crt" -days 2 -extfile ext >/dev/null 2>&1
	rm -f "$who.csr" ext
done
