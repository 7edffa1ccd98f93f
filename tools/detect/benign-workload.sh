#!/usr/bin/env bash
# The benign workload of tools/detect/benign.sh, run inside the sandbox
# (tools/detect/sandbox.sh with the host's network): everything it writes
# lands in the sandbox's overlays and tmpfs and is gone afterwards.
# Ordinary work that must not raise a high or critical alert.
set -uo pipefail
step() { printf '== %s\n' "$*"; }
w=$(mktemp -d /tmp/benign.XXXXXX)
cd "$w" || exit 1

step "file work in a shell"
mkdir -p data
for i in $(seq 50); do
	echo "line $i" >>data/log.txt
	cp data/log.txt "data/copy-$i.txt"
	grep -c line "data/copy-$i.txt" >/dev/null
	sed -i "s/line/row/" "data/copy-$i.txt"
	mv "data/copy-$i.txt" "data/moved-$i.txt"
	chmod 640 "data/moved-$i.txt"
done
tar -czf data.tgz data && tar -tzf data.tgz >/dev/null
find data -name 'moved-*' -print0 | xargs -0 rm -f
find data -type f | sort | uniq | wc -l >/dev/null
mkdir -p a/b/c && touch a/b/c/f && ln -s a/b/c/f link && rm -rf a link

step "a C project: compiler and test suite, in git, cloned and built"
mkdir -p proj/src proj/tests && cd proj || exit 1
cat >src/sum.c <<'EOF'
int sum(int a, int b) { return a + b; }
EOF
cat >src/main.c <<'EOF'
#include <stdio.h>
int sum(int a, int b);
int main(void) { printf("%d\n", sum(2, 3)); return 0; }
EOF
cat >tests/run.sh <<'EOF'
#!/bin/sh
set -e
out=$(./app)
[ "$out" = 5 ] && echo "PASS sum"
for n in 1 2 3 4 5 6 7 8 9 10; do ./app >/dev/null && echo "PASS run $n"; done
EOF
chmod +x tests/run.sh
cat >Makefile <<'EOF'
app: src/main.o src/sum.o
	$(CC) -o $@ $^
check: app
	./tests/run.sh
clean:
	rm -f app src/*.o
EOF
git init -q . && git add . && git -c user.email=ci@example.com -c user.name=ci commit -qm init
make -s check
cd "$w" || exit 1
git clone -q "file://$w/proj" clone && make -s -C clone check && make -s -C clone clean

step "Go: vet and test a package with a cold build cache"
if command -v go >/dev/null && [ -n "${BENIGN_GO_PKG:-}" ]; then
	(cd "$BENIGN_REPO" && GOCACHE="$w/gocache" GOFLAGS=-buildvcs=false go vet "$BENIGN_GO_PKG" &&
		GOCACHE="$w/gocache" go test -count=1 "$BENIGN_GO_PKG")
fi

step "a package install with maintainer scripts (hello, cron, sudo)"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends hello cron sudo >apt.log 2>&1 || tail -5 apt.log
command -v hello >/dev/null && hello >/dev/null

step "a web server under load"
python3 -m http.server 18431 --bind 127.0.0.1 --directory "$w" >/dev/null 2>&1 &
web=$!
for _ in $(seq 50); do curl -s -o /dev/null http://127.0.0.1:18431/ && break; sleep 0.2; done
for i in $(seq 200); do
	curl -s -o /dev/null "http://127.0.0.1:18431/data.tgz?$i" &
	[ $((i % 20)) = 0 ] && wait -n 2>/dev/null
done
wait_for_curls() { for p in $(jobs -p); do [ "$p" = "$web" ] || wait "$p"; done; }
wait_for_curls
kill "$web"

step "cron jobs"
if command -v cron >/dev/null; then
	printf '* * * * * root echo tick >>%s/cron.out; date >/dev/null\n' "$w" >/etc/cron.d/benign
	cron
	for _ in $(seq 90); do [ -s "$w/cron.out" ] && break; sleep 1; done
	[ -s "$w/cron.out" ] && echo "cron ran the job"
	pkill -x cron || true
	rm -f /etc/cron.d/benign
fi

step "admin work with sudo"
if command -v sudo >/dev/null; then
	sudo -u nobody ls / >/dev/null
	sudo ip addr >/dev/null
	sudo sed -i 's/^# *\(.*example.*\)$/\1/' /etc/hosts
	sudo useradd -m benignuser && sudo passwd -d benignuser >/dev/null && sudo userdel -r benignuser 2>/dev/null
	sudo apt-get remove --purge -y -q hello >/dev/null 2>&1
	sudo tail -n 5 /var/log/dpkg.log >/dev/null
	sudo df -h >/dev/null
	sudo ps aux >/dev/null
fi
step finished
