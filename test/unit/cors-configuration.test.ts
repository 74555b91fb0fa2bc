import { ConfigurationError, loadConfiguration } from '../../src/config';

describe('CORS_ORIGINS', () => {
  it('is empty (same origin only) by default', () => {
    expect(loadConfiguration({}).api.corsOrigins).toEqual([]);
  });

  it('takes a comma-separated list of origins, or *', () => {
    expect(loadConfiguration({ CORS_ORIGINS: ' https://chat.example.com , http://localhost:5173 ' }).api.corsOrigins).toEqual(['https://chat.example.com', 'http://localhost:5173']);
    expect(loadConfiguration({ CORS_ORIGINS: '*' }).api.corsOrigins).toEqual(['*']);
  });

  it.each(['https://chat.example.com/', 'https://chat.example.com/app', 'chat.example.com', 'ftp://files.example.com'])('rejects %j naming the variable', (origin) => {
    expect(() => loadConfiguration({ CORS_ORIGINS: origin })).toThrow(ConfigurationError);
    expect(() => loadConfiguration({ CORS_ORIGINS: origin })).toThrow(/CORS_ORIGINS/);
  });
});
