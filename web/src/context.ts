import { createContext } from 'react';
import type { ApiClient } from './api';

/** The signed-in API client, for components deep in a message (stored files need the key). */
export const ApiClientContext = createContext<ApiClient | undefined>(undefined);
