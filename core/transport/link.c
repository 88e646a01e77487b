/* Bytes over a link's socket, whatever is at its far end. */
#include "transport/transport.h"

#include <errno.h>
#include <sys/socket.h>

ssize_t tp__link_send(struct tp__link *l, const struct iovec *iov, int n)
{
    struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};
    ssize_t r;
    do
        r = sendmsg(l->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r;
}

ssize_t tp__link_recv(struct tp__link *l, void *p, size_t n)
{
    ssize_t r;
    do
        r = recv(l->fd, p, n, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    return r;
}
