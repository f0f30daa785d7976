/* nosym - a shared object that is not a yubin plugin (no yubin_plugin). */
int nosym_value = 1;
