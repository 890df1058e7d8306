#!/usr/bin/env bash
# Installs everything this project needs on a Debian 12 machine, idempotently:
# the Debian packages (C libraries, PostgreSQL, JDK, Maven, kcat, jq, clang-tidy,
# podman, buildah and debootstrap for make images, ...), the
# Apache Kafka broker, assembled from Maven Central, and FerretDB (the MongoDB-
# protocol server), built from the Go module proxy, both into a cache folder
# outside the clone (so a fresh clone reuses them).
# A second run checks markers and downloads nothing.
#
# Environment: EDA_CACHE_DIR (default ~/.cache/eda-pipeline).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../versions.env
. "$here/versions.env"
cache=${EDA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eda-pipeline}

die() { echo "make deps: $*" >&2; exit 1; }

debian_packages=(
	build-essential pkg-config
	librdkafka-dev libmicrohttpd-dev libjansson-dev libpq-dev libmongoc-dev libbson-dev
	libjwt-dev libcurl4-openssl-dev uuid-dev check
	"postgresql-$PG_MAJOR" postgresql-client
	openjdk-17-jdk-headless maven
	kcat jq curl wrk
	clang clang-format clang-tidy libclang-rt-14-dev
	podman buildah debootstrap
	python3-aiosmtpd python3-jsonschema python3-yaml python3-venv docker-compose
)

install_debian_packages() {
	local missing=() p
	for p in "${debian_packages[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	echo "make deps: installing Debian packages: ${missing[*]}"
	"${sudo[@]}" apt-get update -qq ||
		die "apt-get update failed: check the network or the apt sources"
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null ||
		die "apt-get install failed for: ${missing[*]} (run it by hand to see why)"
}

# maven_assemble NAME POM DEST [-Dprop=value...]: copies POM's runtime dependencies
# into DEST/libs. A marker written last makes a half-finished download redo itself.
maven_assemble() {
	local name=$1 pom=$2 dest=$3
	shift 3
	[ -f "$dest/.complete" ] && return 0
	command -v mvn >/dev/null || die "mvn not found: install Debian's maven package"
	echo "make deps: fetching $name from Maven Central into $dest"
	rm -rf "$dest"
	mkdir -p "$dest/libs"
	if ! mvn -q -B -f "$pom" "$@" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$dest/libs" >"$dest/mvn.log" 2>&1; then
		tail -n 20 "$dest/mvn.log" >&2
		die "downloading $name failed (log: $dest/mvn.log); check access to Maven Central and rerun make deps"
	fi
	touch "$dest/.complete"
}

# The offline deployment-file validator of make test (npm packages, pinned by
# package-lock.json); a checksum of the lock file marks a finished install.
npm_validator() {
	local dir=$here/validate sum
	command -v npm >/dev/null || die "npm not found: install Node.js (it ships npm) or Debian's npm"
	sum=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
	[ "$(cat "$dir/node_modules/.eda-lock-sum" 2>/dev/null)" = "$sum" ] && return 0
	echo "make deps: installing the Kubernetes manifest validator (npm ci)"
	(cd "$dir" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null) ||
		die "npm ci in $dir failed: check access to the npm registry and rerun make deps"
	echo "$sum" >"$dir/node_modules/.eda-lock-sum"
}

# FerretDB, built with the machine's Go from the module proxy. `go install
# .../cmd/ferretdb@v` gives a binary that panics at start ("Invalid
# build/version/version.txt"): the release process writes that file, and the
# module does not ship it. So: fetch the module, copy it out of the read-only
# module cache, write the version file, build. The binary is written last,
# through a temporary name, so a half-finished build redoes itself.
ferretdb_build() {
	local dest=$1 src json
	[ -x "$dest/ferretdb" ] && return 0
	command -v go >/dev/null || die "go not found: FerretDB is built with Go 1.24 or newer (Debian 12's golang-go is too old)"
	echo "make deps: building FerretDB $FERRETDB_VERSION from the Go module proxy into $dest"
	rm -rf "$dest"
	mkdir -p "$dest"
	json=$(cd "$dest" && GOFLAGS=-mod=mod go mod download -json \
		"github.com/FerretDB/FerretDB@v$FERRETDB_VERSION" 2>"$dest/build.log") ||
		die "downloading FerretDB $FERRETDB_VERSION failed (log: $dest/build.log); check access to the Go module proxy"
	src=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -d "$src" ] || die "FerretDB $FERRETDB_VERSION: go mod download named no source folder (log: $dest/build.log)"
	cp -r "$src" "$dest/src"
	chmod -R u+w "$dest/src"
	echo "v$FERRETDB_VERSION" >"$dest/src/build/version/version.txt"
	if ! (cd "$dest/src" && go build -trimpath -o "$dest/ferretdb.tmp" ./cmd/ferretdb) \
		>>"$dest/build.log" 2>&1; then
		tail -n 20 "$dest/build.log" >&2
		die "building FerretDB failed (log: $dest/build.log)"
	fi
	rm -rf "$dest/src"
	mv "$dest/ferretdb.tmp" "$dest/ferretdb"
}

# Schemathesis, the contract tester of make test (tests/test_contract.c), from
# PyPI into a virtual environment in the clone (.venv-tools, git-ignored), at a
# pinned version; a marker naming that version marks a finished install.
SCHEMATHESIS_VERSION=4.32.5
schemathesis_venv() {
	local venv=$here/../.venv-tools
	[ "$(cat "$venv/.eda-schemathesis" 2>/dev/null)" = "$SCHEMATHESIS_VERSION" ] && return 0
	echo "make deps: installing Schemathesis $SCHEMATHESIS_VERSION from PyPI into $venv"
	python3 -m venv "$venv" || die "python3 -m venv failed: install Debian's python3-venv"
	"$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
		die "pip install schemathesis==$SCHEMATHESIS_VERSION failed: check access to PyPI and rerun make deps"
	echo "$SCHEMATHESIS_VERSION" >"$venv/.eda-schemathesis"
}

install_debian_packages
npm_validator
schemathesis_venv
maven_assemble "Apache Kafka $KAFKA_VERSION" "$here/kafka/pom.xml" \
	"$cache/kafka-$KAFKA_VERSION" "-Dkafka.version=$KAFKA_VERSION"
ferretdb_build "$cache/ferretdb-$FERRETDB_VERSION"
echo "make deps: all dependencies present (cache: $cache)"
