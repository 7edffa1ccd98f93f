#!/bin/sh
# Rebuilds the fixture modules under root/ from src/mod.c. The signed one
# is signed the way the kernel's scripts/sign-file does it: a DER PKCS#7
# (CMS) detached signature without certificates or attributes, then
# struct module_signature (id_type 2 = PKCS#7, sig_len big-endian) and the
# "~Module signature appended~\n" magic.
set -eu
cd "$(dirname "$0")"
d=root/lib/modules/6.1.0-vigil/kernel
mkdir -p "$d/drivers/vh" "$d/../extra" src/tmp
obj() { gcc -c -O2 -DNAME="$1" -DLICENSE="\"$2\"" -DDEPENDS="\"$3\"" -o "$4" src/mod.c; }
obj vh_signed GPL "" "$d/drivers/vh/vh-signed.ko"
obj vh_unsigned GPL vh_signed "$d/drivers/vh/vh_unsigned.ko"
obj vh_outoftree Proprietary "vh_signed,vh_unsigned" "$d/../extra/vh_outoftree.ko"
obj vh_gz GPL "" src/tmp/vh_gz.ko && gzip -9n -c src/tmp/vh_gz.ko > "$d/drivers/vh/vh_gz.ko.gz"
obj vh_xz GPL "" src/tmp/vh_xz.ko && xz -c src/tmp/vh_xz.ko > "$d/drivers/vh/vh_xz.ko.xz"
openssl req -x509 -newkey rsa:2048 -nodes -days 36500 -subj "/O=vigil tests/CN=vigil fixture signing key" \
	-keyout src/tmp/key.pem -out src/tmp/cert.pem 2>/dev/null
k="$d/drivers/vh/vh-signed.ko"
openssl cms -sign -binary -noattr -nocerts -nosmimecap -md sha256 -outform DER \
	-in "$k" -signer src/tmp/cert.pem -inkey src/tmp/key.pem -out src/tmp/sig.der
openssl x509 -in src/tmp/cert.pem -noout -serial | sed 's/serial=//' | tr 'A-F' 'a-f' > signed.serial
len=$(stat -c %s src/tmp/sig.der)
cat src/tmp/sig.der >> "$k"
# struct module_signature: algo, hash, id_type=2, signer_len, key_id_len, pad[3], __be32 sig_len
printf '\0\0\2\0\0\0\0\0' >> "$k"
printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $((len >> 24 & 255)) $((len >> 16 & 255)) $((len >> 8 & 255)) $((len & 255)))" >> "$k"
printf '~Module signature appended~\n' >> "$k"
rm -rf src/tmp
