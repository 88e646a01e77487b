/* taskpool_plugin is a data symbol, not a function. */
const int taskpool_plugin[4] = {1, 2, 3, 4};
