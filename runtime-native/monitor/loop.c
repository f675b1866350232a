/* The event loop: one epoll set, a signalfd for SIGCHLD/SIGTERM/SIGINT, and one timerfd (the
 * monitor never needs two deadlines at once: first the output drain, then the final flush). */
#include "monitor.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_BATCH 16

static int epfd = -1;
static bool stopping;
static struct watch sig_watch = { .fd = -1 };
static struct watch timer_watch = { .fd = -1 };
static void (*timer_fn) (void);
static void (*signal_fn) (int);

uint64_t
now_realtime_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void
on_signal_fd (struct watch *w, uint32_t events)
{
  struct signalfd_siginfo si;
  for (;;)
    {
      ssize_t n = read (w->fd, &si, sizeof si);
      if (n != (ssize_t) sizeof si)
        break;
      if (signal_fn)
        signal_fn ((int) si.ssi_signo);
    }
}

static void
on_timer (struct watch *w, uint32_t events)
{
  uint64_t ticks;
  if (read (w->fd, &ticks, sizeof ticks) != (ssize_t) sizeof ticks)
    return;
  void (*fn) (void) = timer_fn;
  timer_fn = NULL;
  if (fn)
    fn ();
}

int
loop_init (struct tn_error **err)
{
  epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (epfd < 0)
    return tn_error_sys (err, errno, "epoll_create1");

  sigset_t set;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  sigaddset (&set, SIGTERM);
  sigaddset (&set, SIGINT);
  if (sigprocmask (SIG_BLOCK, &set, NULL) < 0)
    return tn_error_sys (err, errno, "sigprocmask");
  sig_watch.fd = signalfd (-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_watch.fd < 0)
    return tn_error_sys (err, errno, "signalfd");
  sig_watch.fn = on_signal_fd;
  loop_watch (&sig_watch, EPOLLIN);

  timer_watch.fd = timerfd_create (CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_watch.fd < 0)
    return tn_error_sys (err, errno, "timerfd_create");
  timer_watch.fn = on_timer;
  loop_watch (&timer_watch, EPOLLIN);
  return 0;
}

void
loop_on_signal (void (*fn) (int))
{
  signal_fn = fn;
}

void
loop_watch (struct watch *w, uint32_t events)
{
  if (w->fd < 0)
    return;
  if (events == 0)
    {
      loop_forget (w);
      return;
    }
  if (w->registered && w->events == events)
    return;
  struct epoll_event ev = { .events = events, .data.ptr = w };
  int op = w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
  if (epoll_ctl (epfd, op, w->fd, &ev) == 0)
    {
      w->registered = true;
      w->events = events;
    }
}

void
loop_forget (struct watch *w)
{
  if (w->registered && w->fd >= 0)
    epoll_ctl (epfd, EPOLL_CTL_DEL, w->fd, NULL);
  w->registered = false;
  w->events = 0;
}

void
loop_timer (unsigned ms, void (*fn) (void))
{
  struct itimerspec its;
  memset (&its, 0, sizeof its);
  its.it_value.tv_sec = ms / 1000;
  its.it_value.tv_nsec = (long) (ms % 1000) * 1000000L;
  timer_fn = ms ? fn : NULL;
  timerfd_settime (timer_watch.fd, 0, &its, NULL);
}

void
loop_stop (void)
{
  stopping = true;
}

void
loop_run (void)
{
  struct epoll_event evs[LOOP_BATCH];
  stopping = false;
  while (!stopping)
    {
      int n = epoll_wait (epfd, evs, LOOP_BATCH, -1);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      for (int i = 0; i < n && !stopping; i++)
        {
          struct watch *w = evs[i].data.ptr;
          /* A watch removed earlier in this batch (closed stream, dead client) is skipped. */
          if (!w->registered || w->fd < 0)
            continue;
          w->fn (w, evs[i].events);
        }
      ctl_collect ();
      runtime_collect ();
      exec_collect ();
      exit_poll ();
    }
}
