/* Keeps the library non-empty while parts land; holds nothing. */
int vms_placeholder_;
