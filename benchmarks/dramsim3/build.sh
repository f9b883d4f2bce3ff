#!/bin/sh
# Build einsim's DRAMsim3 driver against a DRAMsim3 source tree (umd-memsys/DRAMsim3):
#   benchmarks/dramsim3/build.sh /path/to/DRAMsim3      -> /path/to/DRAMsim3/einsim_driver
# then `EINSIM_DRAMSIM3=/path/to/DRAMsim3 python -m benchmarks --only dram` adds DRAMsim3's rows to the table.
# A git checkout brings its third-party headers (ext/); a tree without them uses the system's fmt, nlohmann-json
# and inih (Debian: apt-get install libfmt-dev nlohmann-json3-dev libinih-dev).
set -e
D=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRCS=$(ls "$D"/src/*.cc | grep -v -e '/main\.cc$' -e '/thermal' -e '/cpu\.cc$')
if [ -d "$D/ext/headers" ]; then
  FLAGS="-I$D/ext/headers -I$D/ext/fmt/include -DFMT_HEADER_ONLY"
  LIBS=""
else
  SHIM=$(mktemp -d)
  echo '#include <nlohmann/json.hpp>' > "$SHIM/json.hpp"
  FLAGS="-I$SHIM"
  LIBS="-lfmt -lINIReader -linih"
fi
g++ -O3 -DNDEBUG -std=c++11 -I"$D/src" $FLAGS -o "$D/einsim_driver" "$HERE/driver.cc" $SRCS $LIBS
echo "built $D/einsim_driver"
