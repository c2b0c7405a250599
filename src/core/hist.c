/* hist: the bucket bounds and the one update of a duration histogram
   (see hist.h); no state of its own. */
#include "meshwatch/hist.h"

const double hist_bounds[HIST_NBOUNDS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void
hist_observe(struct hist *h, double seconds)
{
	if (!(seconds >= 0))
		return;
	int i = 0;
	while (i < HIST_NBOUNDS && seconds > hist_bounds[i])
		i++;
	h->n[i]++;
	h->count++;
	h->sum += seconds;
}
