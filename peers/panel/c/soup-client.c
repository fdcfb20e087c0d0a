/* Autobahn-protocol client driver on libsoup 3 (soup_session_websocket_connect_async;
 * permessage-deflate offered through the session's extension manager). Incoming
 * payload limit 64 MiB; each connection bounded by a 60 s timer. */
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MESSAGE (64 * 1024 * 1024)
/* Above the longest case timer (480 s, 12.x/13.x with large messages): the
 * harness ends every case; this only guards against a hang. */
#define CASE_TIMEOUT_S 600
#define MAX_CASES 10000

typedef struct {
  GMainLoop *loop;
  gboolean echo;
  GString *first_text; /* the first text message, when not echoing */
  SoupWebsocketConnection *conn;
} Session;

static void on_message(SoupWebsocketConnection *conn, gint type, GBytes *msg, gpointer data) {
  Session *s = data;
  if (s->echo) {
    soup_websocket_connection_send_message(conn, (SoupWebsocketDataType)type, msg);
  } else if (type == SOUP_WEBSOCKET_DATA_TEXT && s->first_text->len == 0) {
    gsize len;
    const char *p = g_bytes_get_data(msg, &len);
    g_string_append_len(s->first_text, p, (gssize)len);
  }
}

static void on_closed(SoupWebsocketConnection *conn, gpointer data) {
  (void)conn;
  g_main_loop_quit(((Session *)data)->loop);
}

static void on_connected(GObject *src, GAsyncResult *res, gpointer data) {
  Session *s = data;
  GError *err = NULL;
  s->conn = soup_session_websocket_connect_finish(SOUP_SESSION(src), res, &err);
  if (!s->conn) {
    printf("connect: %s\n", err->message);
    g_error_free(err);
    g_main_loop_quit(s->loop);
    return;
  }
  soup_websocket_connection_set_max_incoming_payload_size(s->conn, MAX_MESSAGE);
  g_signal_connect(s->conn, "message", G_CALLBACK(on_message), s);
  g_signal_connect(s->conn, "closed", G_CALLBACK(on_closed), s);
}

static gboolean on_timeout(gpointer data) {
  printf("timed out\n");
  g_main_loop_quit(((Session *)data)->loop);
  return G_SOURCE_REMOVE;
}

/* One connection: echo (or keep the first text message) until it closes. */
static GString *session(SoupSession *http, const char *url, gboolean echo) {
  Session s = {g_main_loop_new(NULL, FALSE), echo, g_string_new(NULL), NULL};
  SoupMessage *msg = soup_message_new("GET", url);
  if (!msg) {
    fprintf(stderr, "soup-client: bad URL %s\n", url);
    exit(2);
  }
  soup_session_websocket_connect_async(http, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                       on_connected, &s);
  guint timer = g_timeout_add_seconds(CASE_TIMEOUT_S, on_timeout, &s);
  g_main_loop_run(s.loop);
  g_source_remove(timer);
  if (s.conn) {
    g_signal_handlers_disconnect_by_data(s.conn, &s);
    g_object_unref(s.conn);
  }
  g_object_unref(msg);
  g_main_loop_unref(s.loop);
  return s.first_text;
}

int main(int argc, char **argv) {
  if (argc != 3 || strncmp(argv[1], "ws://", 5) != 0) {
    fprintf(stderr, "usage: soup-client BASE_URL AGENT\n");
    return 2;
  }
  SoupSession *http = soup_session_new_with_options("timeout", CASE_TIMEOUT_S, NULL);
  /* A new session has no WebSocket extension manager: without it nothing is offered. */
  soup_session_add_feature_by_type(http, SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  char *agent = g_uri_escape_string(argv[2], NULL, FALSE);
  GString *count = session(http, g_strdup_printf("%s/getCaseCount", argv[1]), FALSE);
  char *end = NULL;
  long n = strtol(count->str, &end, 10);
  if (count->len == 0 || n < 0 || n > MAX_CASES) {
    fprintf(stderr, "soup-client: bad case count\n");
    return 1;
  }
  for (long i = 1; i <= n; i++) {
    char *url = g_strdup_printf("%s/runCase?case=%ld&agent=%s", argv[1], i, agent);
    g_string_free(session(http, url, TRUE), TRUE);
    g_free(url);
  }
  session(http, g_strdup_printf("%s/updateReports?agent=%s", argv[1], agent), FALSE);
  return 0;
}
