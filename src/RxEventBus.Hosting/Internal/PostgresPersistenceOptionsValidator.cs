using Microsoft.Extensions.Options;
using RxEventBus.Postgres;

namespace RxEventBus.Hosting.Internal;

// Every rule of PostgresPersistenceOptions.Validate(), run by ValidateOnStart. A disabled consumer never runs,
// so only the values read from configuration were checked (as they were read).
internal sealed class PostgresPersistenceOptionsValidator : IValidateOptions<PostgresPersistenceOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresPersistenceOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Skip;
        }

        try
        {
            options.Validate();
            return ValidateOptionsResult.Success;
        }
        catch (PostgresConfigurationException e)
        {
            // The message names the property and its variable ("PoolSize/EB_PG_POOL_SIZE must not exceed …").
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}
