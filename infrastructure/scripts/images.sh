#!/usr/bin/env bash
# Builds every image docker-compose.yml names, for real, without a Docker engine
# (make images; make test runs it): podman with --isolation=chroot on a Debian 12
# base made with debootstrap. Exits 1 if any image does not build.
#
# The base (debootstrap --variant=minbase bookworm, imported as debian:12 and
# debian:12-slim) is made once and kept outside the clone, as a tarball in the
# cache folder and as podman images; podman's layer cache keeps the apt layers,
# so a second run rebuilds only what changed. A lock makes two runs at once take
# turns; every step writes to a temporary name first, so an interrupted run is
# finished by the next one.
#
# Usage: images.sh [SERVICE...]   (default: every service of docker-compose.yml with a build)
# Environment: EDA_CACHE_DIR (default ~/.cache/eda-pipeline), BUILD (logs: $BUILD/images/).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${EDA_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/eda-pipeline}/images
logs=$root/${BUILD:-build}/images
base_tar=$cache/bookworm-minbase.tar

die() { echo "make images: $*" >&2; exit 1; }

for tool in podman debootstrap python3 flock; do
	command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done
mkdir -p "$cache" "$logs"

# One run at a time: podman's own locks keep its store consistent, but two
# debootstraps into one cache, or two builds of one tag, would waste or race.
exec 9>"$cache/lock"
if ! flock -n 9; then
	echo "make images: another run holds $cache/lock; waiting"
	flock 9
fi

# The Debian 12 base, from Debian's own archive. A debootstrap that was cut short
# leaves only its temporary folder, removed here.
make_base_tarball() {
	local tmp=$cache/rootfs.tmp
	[ -s "$base_tar" ] && return 0
	rm -rf "$tmp" "$base_tar.tmp"
	echo "make images: debootstrap --variant=minbase bookworm (once; cached in $cache)"
	if ! debootstrap --variant=minbase bookworm "$tmp" >"$logs/debootstrap.log" 2>&1; then
		tail -n 20 "$logs/debootstrap.log" >&2
		die "debootstrap failed (log: $logs/debootstrap.log)"
	fi
	# The apt lists a build needs are fetched by its own apt-get update.
	rm -rf "$tmp"/var/lib/apt/lists/* "$tmp"/var/cache/apt/archives/*.deb
	tar -C "$tmp" --numeric-owner -cf "$base_tar.tmp" .
	mv "$base_tar.tmp" "$base_tar"
	rm -rf "$tmp"
}

# The Dockerfile names debian:12 (build) and debian:12-slim (runtime): both are
# this one minimal base, imported once; --pull=never keeps podman off any registry.
import_base() {
	if podman image exists debian:12 && podman image exists debian:12-slim; then
		return 0
	fi
	make_base_tarball
	echo "make images: importing the base as debian:12 and debian:12-slim"
	podman import --quiet "$base_tar" debian:12 >/dev/null || die "podman import of $base_tar failed"
	podman tag debian:12 debian:12-slim || die "podman tag debian:12-slim failed"
}

# SERVICE IMAGE DOCKERFILE TARGET [ARG=VALUE...] for each service with a build, as
# docker-compose.yml says: the images built are the ones compose would build.
compose_builds() {
	python3 - "$root/docker-compose.yml" <<'PY'
import sys, yaml
services = yaml.safe_load(open(sys.argv[1]))["services"]
for name, svc in services.items():
    build = svc.get("build")
    if not build:
        continue
    if build.get("context", ".") != ".":
        sys.exit(f"{name}: build context {build['context']}: images.sh builds from the root only")
    args = [f"{k}={v}" for k, v in (build.get("args") or {}).items()]
    print(name, svc["image"], build.get("dockerfile", "Dockerfile"), build.get("target", "-"), *args)
PY
}

build_one() {
	local name=$1 image=$2 file=$3 target=$4 a start
	shift 4
	# --format docker: the OCI format has no HEALTHCHECK, and compose builds docker images.
	local opts=(--isolation=chroot --network=host --pull=never --layers --format docker -f "$root/$file" -t "$image")
	[ "$target" = - ] || opts+=(--target "$target")
	for a in "$@"; do opts+=(--build-arg "$a"); done
	start=$SECONDS
	if podman build "${opts[@]}" "$root" </dev/null >"$logs/$name.log" 2>&1; then
		echo "make images: $image built in $((SECONDS - start)) s"
	else
		tail -n 30 "$logs/$name.log" >&2
		echo "make images: $name FAILED to build (log: $logs/$name.log)" >&2
		return 1
	fi
}

import_base
builds=$(compose_builds) || die "cannot read the builds of docker-compose.yml"
failed=()
while read -r name image file target args; do
	[ $# -eq 0 ] || [[ " $* " == *" $name "* ]] || continue
	# shellcheck disable=SC2086 # args: zero or more ARG=VALUE words
	build_one "$name" "$image" "$file" "$target" $args || failed+=("$name")
done <<<"$builds"
[ ${#failed[@]} -eq 0 ] || die "images that did not build: ${failed[*]}"
echo "make images: every image built"
