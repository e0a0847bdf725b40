#ifndef DOZOR_THREADS_H
#define DOZOR_THREADS_H
#ifdef __cplusplus
extern "C" {
#endif
void dozor_set_num_threads(int n);
int dozor_get_num_threads(void);
#ifdef __cplusplus
}
#endif
#endif
