/* OxMPI's documented combining order for reductions that fit its
 * node-local cells, whichever path they take, written out for the tests'
 * references: MPI_Reduce (root >= 0) along the binomial tree rooted at the
 * root (at rank 0 for a non-commutative operation), each rank taking in
 * its children's partial results nearest first; MPI_Allreduce (root < 0)
 * by recursive doubling, the ranks beyond the largest power of two 2^k
 * folded into their upper neighbour, then the 2^k places combined
 * pairwise in a balanced tree, lower place first.
 *
 * Fills steps[0..n-1) with pairs (a, b): part a becomes part a op part b
 * (part i starting as rank i's input); returns the part holding the
 * result. */
static int reduction_order(int n, int root, int commute, int (*steps)[2])
{
    int k = 0;
    if (root >= 0) {
        int top = commute ? root : 0;
        for (int rel = n - 1; rel >= 0; rel--)
            for (int mask = 1; mask < n && !(rel & mask); mask <<= 1)
                if (rel + mask < n) {
                    steps[k][0] = (rel + top) % n;
                    steps[k++][1] = (rel + mask + top) % n;
                }
        return top;
    }
    int pof2 = 1;
    while (pof2 * 2 <= n)
        pof2 *= 2;
    int rem = n - pof2;
#define PLACE(v) ((v) < rem ? 2 * (v) : (v) + rem)
    for (int v = 0; v < rem; v++) {
        steps[k][0] = 2 * v;
        steps[k++][1] = 2 * v + 1;
    }
    for (int mask = 1; mask < pof2; mask <<= 1)
        for (int v = 0; v < pof2; v += 2 * mask) {
            steps[k][0] = PLACE(v);
            steps[k++][1] = PLACE(v + mask);
        }
#undef PLACE
    return 0;
}
