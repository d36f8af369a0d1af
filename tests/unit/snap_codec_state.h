/* The snapshot codec's scratch state for host tests, made and freed by a cmocka group. */
#ifndef ATOLL_TESTS_UNIT_SNAP_CODEC_STATE_H
#define ATOLL_TESTS_UNIT_SNAP_CODEC_STATE_H

extern void *codec_state;

int codec_state_setup(void **s);
int codec_state_teardown(void **s);

#endif
