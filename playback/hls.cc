#include "playback/hls.h"
