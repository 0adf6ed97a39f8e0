/* Seconds on the monotonic clock, for durations (bring-up times, probe intervals, rate limits, fetch times). */
#ifndef MINET_CLOCK_H
#define MINET_CLOCK_H

double monotonic_seconds(void);

#endif
