#include <opencv2/core.hpp>
#include "threads.h"

void dozor_set_num_threads(int n) { cv::setNumThreads(n <= 0 ? -1 : n); }
int dozor_get_num_threads(void) { return cv::getNumThreads(); }
