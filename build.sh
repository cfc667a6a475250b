#!/usr/bin/env bash
# nginx-mailserver build script.
#
#   ./build.sh deps    install what is missing (Debian 12 packages)
#   ./build.sh         build build/ngx_mail_server_module.so and build/mailctl
#   ./build.sh test    deps + build + the whole test suite (prove -r t/)
#   ./build.sh run     deps + build, then Redis + nginx with conf/ on loopback
#
# NGINX_SRC=/path/to/nginx-source builds against that source tree (and its
# own nginx binary) instead of Debian's nginx-dev headers.  EXTRA_CC_OPT and
# EXTRA_LD_OPT add compiler and linker flags, e.g. for a sanitizer build:
#   NGINX_SRC=... EXTRA_CC_OPT=-fsanitize=address \
#   EXTRA_LD_OPT=-fsanitize=address ./build.sh test

set -euo pipefail

top=$(cd "$(dirname "$0")" && pwd)
build="$top/build"
cd "$top"

packages=(
    gcc make pkg-config openssl
    nginx nginx-dev libnginx-mod-mail
    libhiredis-dev libcrypt-dev libssl-dev libc-ares-dev
    redis-server redis-tools
    perl libmail-imapclient-perl libio-socket-ssl-perl libauthen-sasl-perl
    libnet-dns-perl libmime-tools-perl fetchmail curl isync mutt
    dnsmasq-base
)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

deps() {
    local missing=() p
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "build.sh: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null
}

# The configure step is repeated only when its inputs change.
configure_nginx() {
    local stamp flags configure
    stamp=$( (cat config; echo "${NGINX_SRC:-debian} ${EXTRA_CC_OPT:-}"
              echo "${EXTRA_LD_OPT:-}") | sha1sum | cut -c1-16)
    if [ -f "$build/nginx/Makefile" ] \
       && [ "$(cat "$build/.configured" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    rm -rf "$build/nginx" "$build/nginx-src"
    mkdir -p "$build"
    if [ -n "${NGINX_SRC:-}" ]; then
        cp -r "$NGINX_SRC" "$build/nginx-src"
        flags=(--with-compat --with-threads --with-debug
               --with-http_ssl_module)
    else
        # configure writes into its source tree: work on a copy
        cp -r /usr/share/nginx/src "$build/nginx-src"
        # shellcheck disable=SC1091
        . "$build/nginx-src/conf_flags"
        flags=("${NGX_CONF_FLAGS[@]}")
    fi
    # a release tarball has ./configure, a git checkout auto/configure
    configure=./configure
    [ -x "$build/nginx-src/configure" ] || configure=auto/configure
    (cd "$build/nginx-src" && $configure \
        --with-cc-opt="-fPIC -O2 -g ${EXTRA_CC_OPT:-}" \
        --with-ld-opt="-fPIC ${EXTRA_LD_OPT:-}" "${flags[@]}" \
        --with-mail=dynamic --with-mail_ssl_module \
        --add-dynamic-module="$top" --builddir="$build/nginx" >/dev/null)
    echo "$stamp" > "$build/.configured"
}

build_all() {
    local bin modules
    configure_nginx
    if [ -n "${NGINX_SRC:-}" ]; then
        make -s -C "$build/nginx-src" -f "$build/nginx/Makefile" \
            binary modules
        bin="$build/nginx/nginx"
        modules="$build/nginx"
    else
        make -s -C "$build/nginx-src" -f "$build/nginx/Makefile" \
            "$build/nginx/ngx_mail_server_module.so"
        bin=/usr/sbin/nginx
        modules=/usr/lib/nginx/modules
    fi
    # a new file, not an overwrite: running nginx processes keep theirs
    cp "$build/nginx/ngx_mail_server_module.so" "$build/.module.so.tmp"
    mv -f "$build/.module.so.tmp" "$build/ngx_mail_server_module.so"
    cat > "$build/nginx.env" <<ENV
NGINX_BIN=$bin
NGINX_MAIL_MODULE=$modules/ngx_mail_module.so
NGINX_SERVER_MODULE=$build/ngx_mail_server_module.so
ENV
    make -s -C tools/mailctl O="$build"
    # the parsers' C unit tests, run by t/smtp-05-parsers.t and t/mime-*.t
    make -s -C modules/smtp O="$build/smtp"
    make -s -C modules/pop3 O="$build/pop3"
    make -s -C modules/imap O="$build/imap"
    make -s -C modules/queue O="$build/queue"
    make -s -C modules/mime O="$build/mime"
    make -s -C modules/spam O="$build/spam"
}

run_tests() {
    prove -r -j2 t/
}

case "${1:-build}" in
    deps)  deps ;;
    build) build_all ;;
    test)  deps; build_all; run_tests ;;
    run)   deps; build_all; exec "$top/conf/run.sh" ;;
    *)     echo "usage: $0 [deps|build|test|run]" >&2; exit 1 ;;
esac
