/* Echo server on libsoup 3 (SoupServer websocket handler): text as text,
 * binary as binary. permessage-deflate: libsoup's default (the server
 * negotiates it). Incoming payload limit raised from 128 KiB to 64 MiB. */
#include <libsoup/soup.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_MESSAGE (64 * 1024 * 1024)

static void on_message(SoupWebsocketConnection *conn, gint type, GBytes *msg, gpointer data) {
  (void)data;
  soup_websocket_connection_send_message(conn, (SoupWebsocketDataType)type, msg);
}

static void on_closed(SoupWebsocketConnection *conn, gpointer data) {
  (void)data;
  g_object_unref(conn);
}

static void on_websocket(SoupServer *server, SoupServerMessage *msg, const char *path,
                         SoupWebsocketConnection *conn, gpointer data) {
  (void)server; (void)msg; (void)path; (void)data;
  g_object_ref(conn);
  soup_websocket_connection_set_max_incoming_payload_size(conn, MAX_MESSAGE);
  g_signal_connect(conn, "message", G_CALLBACK(on_message), NULL);
  g_signal_connect(conn, "closed", G_CALLBACK(on_closed), NULL);
}

int main(int argc, char **argv) {
  char *end = NULL;
  long port = argc == 2 ? strtol(argv[1], &end, 10) : -1;
  if (argc != 2 || *end || port < 0 || port > 65535) {
    fprintf(stderr, "usage: soup-server PORT\n");
    return 2;
  }
  SoupServer *server = soup_server_new(NULL, NULL);
  soup_server_add_websocket_handler(server, NULL, NULL, NULL, on_websocket, NULL, NULL);
  GError *err = NULL;
  if (!soup_server_listen_local(server, (guint)port, SOUP_SERVER_LISTEN_IPV4_ONLY, &err)) {
    fprintf(stderr, "soup-server: %s\n", err->message);
    return 1;
  }
  GSList *uris = soup_server_get_uris(server);
  printf("listening 127.0.0.1:%d\n", g_uri_get_port(uris->data));
  fflush(stdout);
  g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
  g_main_loop_run(g_main_loop_new(NULL, FALSE));
  return 0;
}
