"""A frame-analysis consumer in Python: brightness and motion (frame differencing) per frame.

    PYTHONPATH=build/python /usr/bin/python3 samples/python/detector.py \
        http://127.0.0.1:8080 demo [NOW|EARLIEST|START_SECONDS [END_SECONDS]]

Prints one JSON line per frame: its producer time (epoch seconds), mean brightness (0-255)
and the share of pixels that changed since the previous frame. Frames arrive as numpy BGR
arrays, which every cv2 function takes. It follows the live stream until Ctrl-C, or ends at
END_SECONDS (epoch seconds of producer time).
"""
import json
import sys

import cv2
import streamarc

endpoint, stream, *rest = sys.argv[1:]
start = rest[0] if rest else "NOW"
start = start if start in ("NOW", "EARLIEST") else float(start)
end = float(rest[1]) if len(rest) > 1 else None
previous = None
for image, info in streamarc.frames(endpoint, stream, start=start, end=end):
    gray = cv2.GaussianBlur(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), (5, 5), 0)
    moving = 0.0 if previous is None else float((cv2.absdiff(gray, previous) > 25).mean())
    previous = gray
    print(json.dumps({"Timestamp": info.producer_timestamp, "Brightness": round(float(gray.mean()), 2),
                      "Moving": round(moving, 4)}), flush=True)
