/* A loadable module that is not a taskpool plugin. */
int nodesc_value(void);
int nodesc_value(void) { return 42; }
