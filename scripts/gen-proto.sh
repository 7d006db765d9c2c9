#!/usr/bin/env bash
# Regenerates src/gen from proto/ with Debian's protoc and the ts-proto plugin.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v protoc >/dev/null || { echo "gen: protoc missing: apt-get install -y protobuf-compiler" >&2; exit 1; }
rm -rf src/gen && mkdir -p src/gen
protoc \
  --plugin=protoc-gen-ts_proto=node_modules/.bin/protoc-gen-ts_proto \
  --ts_proto_out=src/gen \
  --ts_proto_opt=outputServices=grpc-js,esModuleInterop=true,useDate=true,env=node,forceLong=number,useOptionals=none,oneof=unions-value \
  -I proto -I /usr/include \
  proto/berth/v1/*.proto
echo "gen: wrote $(find src/gen -name '*.ts' | wc -l) files to src/gen"
