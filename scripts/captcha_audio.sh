#!/bin/sh
# Regenerate the spoken Vietnamese digits of the audio captcha (gateway/static/captcha/0-9.wav).
# Needed only to change the recordings: they are committed, and the gateway joins them at
# run time with Python's wave module (no espeak-ng on the servers). Needs: apt-get install espeak-ng
set -eu
out="$(dirname "$0")/../gateway/static/captcha"
mkdir -p "$out"
for digit in 0 1 2 3 4 5 6 7 8 9; do
  espeak-ng -v vi -s 140 -w "$out/$digit.wav" "$digit"
done
echo "wrote $out/0.wav … 9.wav"
