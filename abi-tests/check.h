/* The check of the collective end-to-end tests: a condition that fails is
 * counted, and the first ten are reported with the test's name and the
 * rank. Define TEST_NAME before including this. */
#include <stdio.h>

static int errs, wrank;

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            if (errs++ < 10) {                                                 \
                printf("%s: rank %d: ", TEST_NAME, wrank);                     \
                printf(__VA_ARGS__);                                           \
                printf("\n");                                                  \
            }                                                                  \
        }                                                                      \
    } while (0)
