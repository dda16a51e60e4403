import { createClient, type SupabaseClient } from "@supabase/supabase-js";
import WebSocket from "ws";

/**
 * Clients as an app would make them, but for a one-shot process: no session
 * storage, no token refresh timer that would keep the process alive. Node 20
 * has no global WebSocket, so realtime gets ws.
 */
export function client(apiUrl: string, key: string): SupabaseClient {
  return createClient(apiUrl, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    realtime: { transport: WebSocket as never },
  });
}
