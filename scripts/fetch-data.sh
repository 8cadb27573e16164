#!/usr/bin/env bash
# fetch-data.sh [DIR] — download MNIST and CIFAR-10 (binary version) into DIR (default: data/), verify checksums and
# unpack them to the layout the Data module reads:
#   DIR/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz     (MD5 of the uncompressed contents verified)
#   DIR/cifar10/data_batch_{1..5}.bin, DIR/cifar10/test_batch.bin  (tarball MD5 verified)
# Files already present and valid are kept. Needs curl, gzip, tar, md5sum and internet access.
set -euo pipefail

DIR="${1:-data}"
MNIST_MIRRORS=(
  "https://ossci-datasets.s3.amazonaws.com/mnist"
  "https://storage.googleapis.com/cvdf-datasets/mnist"
  "http://yann.lecun.com/exdb/mnist"
)
# MD5 of the uncompressed IDX files (the published MNIST values): the .gz bytes differ between mirrors.
declare -A MNIST_MD5=(
  [train-images-idx3-ubyte]=6bbc9ace898e44ae57da46a324031adb
  [train-labels-idx1-ubyte]=a25bea736e30d166cdddb491f175f624
  [t10k-images-idx3-ubyte]=2646ac647ad5339dbf082846283269ea
  [t10k-labels-idx1-ubyte]=27ae3e4e09519cfbb04c329615203637
)
CIFAR_URL="https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR_MD5=c32a1d4ab5d03f1284b67883e8d87530
CIFAR_FILES=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin)

fail() { echo "fetch-data: $*" >&2; exit 1; }
offline() {
  fail "could not download $1 (no internet access?). Get the files on a connected machine with" \
       "\`scripts/fetch-data.sh DIR\` and copy DIR here, or set EXPLAIND_DATA to a folder with mnist/ and cifar10/."
}
for tool in curl gzip tar md5sum; do command -v "$tool" >/dev/null || fail "needs '$tool' (apt-get install $tool)"; done

# download URL DEST: fetch to DEST.part, then rename; returns non-zero on any failure.
download() {
  curl --fail --silent --show-error --location --connect-timeout 20 --retry 2 -o "$2.part" "$1" && mv "$2.part" "$2"
}

mkdir -p "$DIR/mnist" "$DIR/cifar10"

for name in "${!MNIST_MD5[@]}"; do
  target="$DIR/mnist/$name.gz"
  if [ -f "$target" ] && [ "$(gzip -dc "$target" | md5sum | cut -d' ' -f1)" = "${MNIST_MD5[$name]}" ]; then
    echo "fetch-data: $target present and verified"
    continue
  fi
  fetched=""
  for mirror in "${MNIST_MIRRORS[@]}"; do
    echo "fetch-data: $mirror/$name.gz"
    if download "$mirror/$name.gz" "$target"; then fetched=yes; break; fi
  done
  [ -n "$fetched" ] || { rm -f "$target.part"; offline "$name.gz from any MNIST mirror"; }
  actual="$(gzip -dc "$target" | md5sum | cut -d' ' -f1)"
  [ "$actual" = "${MNIST_MD5[$name]}" ] || { rm -f "$target"; fail "$name: MD5 $actual, expected ${MNIST_MD5[$name]}"; }
  echo "fetch-data: $target verified"
done

complete=yes
for f in "${CIFAR_FILES[@]}"; do
  [ "$(stat -c %s "$DIR/cifar10/$f" 2>/dev/null || echo 0)" = 30730000 ] || complete=""
done
if [ -n "$complete" ]; then
  echo "fetch-data: $DIR/cifar10 present (6 full batch files)"
else
  tarball="$DIR/cifar10/cifar-10-binary.tar.gz"
  if ! { [ -f "$tarball" ] && [ "$(md5sum < "$tarball" | cut -d' ' -f1)" = "$CIFAR_MD5" ]; }; then
    echo "fetch-data: $CIFAR_URL (162 MB)"
    download "$CIFAR_URL" "$tarball" || { rm -f "$tarball.part"; offline "$CIFAR_URL"; }
    actual="$(md5sum < "$tarball" | cut -d' ' -f1)"
    [ "$actual" = "$CIFAR_MD5" ] || { rm -f "$tarball"; fail "cifar-10-binary.tar.gz: MD5 $actual, expected $CIFAR_MD5"; }
  fi
  tar -xzf "$tarball" -C "$DIR/cifar10" --strip-components=1 "${CIFAR_FILES[@]/#/cifar-10-batches-bin/}"
  # Partial .gz copies would otherwise be shadowed only by name order; remove them so one version is read.
  for f in "${CIFAR_FILES[@]}"; do rm -f "$DIR/cifar10/$f.gz"; done
  rm -f "$tarball"
  echo "fetch-data: $DIR/cifar10 unpacked and verified"
fi
echo "fetch-data: done; data in $DIR (the Data module finds it with --data $DIR or EXPLAIND_DATA=$DIR)"
