#include "playback/get_media.h"
